#!/usr/bin/env python3
"""Finds file-level dependency cycles among the C sources.

File A depends on file B when A uses something B provides:
  - a non-static function or global variable defined in B.c;
  - a macro, struct/union/enum tag, enum constant, typedef or static inline function
    defined in a header that belongs to B.c.
A header belongs to a .c file when every function and extern variable it declares is
defined in that one .c file. A header that declares functions of several .c files (a
module's interface, e.g. identity/idn/idnum.h) or none (only types) belongs to no file:
what it defines is shared by the module and is not an edge.

The graph's strongly connected components of more than one file are the cycles. Each is
printed with the symbols behind its edges; the exit status is 1 when there is one.

Usage: tools/cycles.py [--graph] [DIR...]   (default: the directories that hold the
programs and libraries; tests/ uses everything and is left out)

No compiler or ctags needed: a small lexer strips comments, strings and character
literals, and top-level definitions are found by brace depth, which the code style
(one declaration per statement, no K&R definitions) keeps unambiguous.
"""
import os
import re
import sys
from collections import defaultdict

DEFAULT_DIRS = ["common", "identity", "token", "federation", "authcore", "authctl",
                "authd", "migration-tools"]

KEYWORDS = set("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Static_assert _Noreturn _Thread_local _Alignof
__attribute__ __typeof__ typeof __extension__ __restrict __inline __asm__ asm bool
""".split())

TOKEN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|->|\.\.\.|[{}()\[\];,=.#*&]|\S")


def strip_source(text):
    """Comments, string and character literals become spaces (newlines kept);
    backslash-continued lines are joined."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" ")
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    break
                j += 1
            out.append(" " + c + c + " " if c == '"' else " 0 ")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return re.sub(r"\\\n", " ", "".join(out))


def split_lines(text):
    """Returns (code, directives): the source without preprocessor lines, and those lines."""
    code, directives = [], []
    for line in text.split("\n"):
        if line.lstrip().startswith("#"):
            directives.append(line.strip())
            code.append("")
        else:
            code.append(line)
    return "\n".join(code), directives


def tokens(text):
    return TOKEN_RE.findall(text)


def references(toks):
    """Identifiers a file uses: ('id', name) or ('tag', name) after struct/union/enum.
    A name after '.' or '->' is a member, not a reference."""
    refs = set()
    prev = None
    for t in toks:
        if re.match(r"[A-Za-z_]", t) and t not in KEYWORDS:
            if prev in ("struct", "union", "enum"):
                refs.add(("tag", t))
            elif prev not in (".", "->"):
                refs.add(("id", t))
        prev = t
    return refs


def skip_group(toks, i, open_, close):
    """toks[i] is open_; returns the index after its matching close."""
    depth = 0
    while i < len(toks):
        if toks[i] == open_:
            depth += 1
        elif toks[i] == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def strip_attributes(stmt):
    """Drops __attribute__((...)) groups from a statement's tokens."""
    out, i = [], 0
    while i < len(stmt):
        if stmt[i] == "__attribute__" and i + 1 < len(stmt) and stmt[i + 1] == "(":
            i = skip_group(stmt, i + 1, "(", ")")
            continue
        out.append(stmt[i])
        i += 1
    return out


def function_name(stmt):
    """The name of the function a statement declares or defines, or None."""
    stmt = strip_attributes(stmt)
    for k in range(len(stmt) - 1):
        t = stmt[k]
        if stmt[k + 1] == "(" and re.match(r"[A-Za-z_]", t) and t not in KEYWORDS:
            return t
        if t == "(" and k + 2 < len(stmt) and stmt[k + 1] == "*":
            return None  # a function pointer variable or type
        if t == "=":
            return None
    return None


def variable_name(stmt):
    """The name a variable declaration declares: the last identifier before '=' or '['
    or the end."""
    stmt = strip_attributes(stmt)
    name = None
    for t in stmt:
        if t in ("=", "["):
            break
        if t == "(":
            return None
        if re.match(r"[A-Za-z_]", t) and t not in KEYWORDS:
            name = t
    return name


def type_defs(stmt, body):
    """Tags, enum constants and typedef names a top-level statement defines.
    stmt: the tokens before the body's '{' (or the whole statement); body: the tokens
    inside the braces, or None."""
    defs = set()
    for k in range(len(stmt) - 1):
        if stmt[k] in ("struct", "union", "enum") and re.match(r"[A-Za-z_]", stmt[k + 1]):
            if body is not None and k + 2 == len(stmt):
                defs.add(("tag", stmt[k + 1]))
    if body is not None and "enum" in stmt:
        expect = True
        depth = 0
        for t in body:
            if t in "([{":
                depth += 1
            elif t in ")]}":
                depth -= 1
            elif depth == 0 and t == ",":
                expect = True
            elif expect and depth == 0 and re.match(r"[A-Za-z_]", t):
                defs.add(("id", t))
                expect = False
    return defs


def top_level(toks):
    """Yields (kind, stmt, body) for each top-level statement: kind 'block' when it has a
    brace body (a function, an initializer, a type), 'decl' when it ends at ';'."""
    stmt = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == "{":
            j = skip_group(toks, i, "{", "}")
            body = toks[i + 1:j - 1]
            yield "block", stmt, body
            i = j
            if function_name(stmt) is not None and "=" not in stmt:
                stmt = []
            else:
                stmt = stmt + ["{", "}"]  # struct x { } var; continues to ';'
            continue
        if t == ";":
            yield "decl", stmt, None
            stmt = []
        else:
            stmt.append(t)
        i += 1


class SourceFile:
    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8", errors="replace") as f:
            text = strip_source(f.read())
        code, self.directives = split_lines(text)
        self.toks = tokens(code)
        self.refs = references(tokens(text))
        self.exported = set()   # ('id', name): non-static functions and variables (.c)
        self.local = set()      # names defined here and visible only here
        self.declared = set()   # functions and extern variables a header declares
        self.provided = set()   # what a header defines: macros, tags, constants, inlines
        for d in self.directives:
            m = re.match(r"#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)", d)
            if m:
                (self.provided if path.endswith(".h") else self.local).add(("id", m.group(1)))
        for kind, stmt, body in top_level(self.toks):
            self._statement(kind, stmt, body)

    def _statement(self, kind, stmt, body):
        header = self.path.endswith(".h")
        is_static = "static" in stmt
        tdefs = type_defs([t for t in stmt if t not in ("typedef",)], body)
        if header:
            self.provided |= tdefs
        else:
            self.local |= tdefs
        if "typedef" in stmt:
            name = function_typedef_name(stmt) or variable_name(
                [t for t in stmt if t not in ("{", "}")])
            if name:
                (self.provided if header else self.local).add(("id", name))
            return
        fname = function_name(stmt)
        if kind == "block" and fname and "=" not in stmt:
            if header:
                self.provided.add(("id", fname))  # static inline
            elif is_static:
                self.local.add(("id", fname))
            else:
                self.exported.add(("id", fname))
            return
        if kind == "decl" and fname:
            if header:
                self.declared.add(("id", fname))
            elif is_static:
                self.local.add(("id", fname))
            return
        if kind == "block" and ("=" not in stmt) and (stmt[:1] in (["struct"], ["union"],
                                                                   ["enum"])):
            return  # a type definition alone
        plain = [t for t in stmt if t not in ("{", "}")]
        if not plain or plain[-1] in ("struct", "union", "enum") or (
                len(plain) == 2 and plain[0] in ("struct", "union", "enum")):
            return  # a forward declaration
        name = variable_name(plain)
        if not name:
            return
        if header:
            if "extern" in stmt:
                self.declared.add(("id", name))
        elif "extern" in stmt:
            pass
        elif is_static:
            self.local.add(("id", name))
        else:
            self.exported.add(("id", name))


def function_typedef_name(stmt):
    """typedef int (*name)(...): the name."""
    for k in range(len(stmt) - 2):
        if stmt[k] == "(" and stmt[k + 1] == "*" and re.match(r"[A-Za-z_]", stmt[k + 2]):
            return stmt[k + 2]
    return None


def collect(dirs):
    files = []
    for d in dirs:
        for root, subdirs, names in os.walk(d):
            subdirs[:] = sorted(s for s in subdirs if s != "node_modules")
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    files.append(os.path.join(root, name))
    return [SourceFile(p) for p in files]


def build_graph(files):
    """Returns {file: {dep: set(symbols)}} over .c files, and diagnostics."""
    sources = [f for f in files if f.path.endswith(".c")]
    headers = [f for f in files if f.path.endswith(".h")]
    definer = defaultdict(set)
    for f in sources:
        for sym in f.exported:
            if sym[1] != "main":
                definer[sym].add(f.path)
    notes = []
    for h in headers:
        owners = set()
        for sym in h.declared:
            owners |= definer.get(sym, set())
        if len(owners) == 1:
            owner = next(iter(owners))
            for sym in h.provided:
                definer[sym].add(owner)
    graph = defaultdict(lambda: defaultdict(set))
    for f in sources:
        for sym in f.refs - f.local - f.exported:
            for owner in definer.get(sym, ()):
                if owner != f.path:
                    graph[f.path][owner].add(sym[1])
    return sources, graph, notes


def tarjan(nodes, graph):
    index, low, onstack, stack, comps = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        work = [(v, iter(sorted(graph.get(v, {}))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        onstack.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(graph.get(w, {})))))
                    advanced = True
                    break
                if w in onstack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                comps.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return comps


def main(argv):
    show_graph = "--graph" in argv
    dirs = [a for a in argv if not a.startswith("--")] or DEFAULT_DIRS
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(top)
    files = collect([d for d in dirs if os.path.isdir(d)])
    sources, graph, _ = build_graph(files)
    if show_graph:
        for f in sorted(graph):
            for dep in sorted(graph[f]):
                print(f"{f} -> {dep}: {', '.join(sorted(graph[f][dep]))}")
    cycles = [c for c in tarjan([f.path for f in sources], graph) if len(c) > 1]
    for comp in cycles:
        print(f"cycle of {len(comp)} files:")
        members = set(comp)
        for f in comp:
            for dep in sorted(graph[f]):
                if dep in members:
                    syms = sorted(graph[f][dep])
                    more = f" (+{len(syms) - 6})" if len(syms) > 6 else ""
                    print(f"  {f} -> {dep}: {', '.join(syms[:6])}{more}")
    print(f"{len(sources)} C files, {sum(len(d) for d in graph.values())} file dependencies, "
          f"{len(cycles)} cycles")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
