#!/usr/bin/env python3
"""Compiles the data files of the programs into C: HTML templates, the message catalog
of the pages, the Redis session store's Lua scripts, the SQLite directory's schema and
migrations. The programs read no such file at run time; meson runs this at build time
(authd/ui, authd/session and identity/dir have the custom_targets) and a file that
breaks a rule below fails the build with its file:line.

    embed.py files --prefix P --header H --source C FILE...
        Each FILE (UTF-8 text, no NUL byte) as a NUL-terminated array. H declares
        enum P_file { P_<STEM>, ..., P_COUNT } (STEM: the file name without extension,
        upper case, in the order given) and extern const char *const P_text[P_COUNT];
        extern const size_t P_len[P_COUNT]; extern const char *const P_name[P_COUNT].

    embed.py messages --header H --source C CATALOG
        The catalog (format below) as enum page_msg { PAGE_MSG_NONE, PAGE_MSG_<ID>, ...,
        PAGE_MSG_COUNT } and const char *const page_msg_text[PAGE_MSG_COUNT][2]
        (zh-CN, en).

    embed.py templates --messages CATALOG --header H --source C FILE...
        Each template (NAME.html) as its bytes, its parsed operations and a struct
        tpl_NAME of its slots; a file whose name starts with '_' is a partial, only
        included; another file (style.css) is embedded as tpl_file_<STEM>.

    embed.py check-messages CATALOG --templates DIR --sources DIR...
        Exits 1 naming the catalog's ids that no template ({{@id}}) and no C file under
        the source directories (PAGE_MSG_<ID>) uses. Run by the test suite.

The message catalog: one file, both languages side by side, so that a translator edits
one file:

    # a comment
    [login_title]
    zh-CN = 登录
    en = Log in

Every id ([a-z][a-z0-9_]*, unique) has exactly one zh-CN and one en line. A text runs
from the first non-blank after '=' to the end of the line; write it in double quotes when
it starts or ends with a blank ("（" is "（" but en = " (" keeps its space). No control
characters, no trailing blanks, valid UTF-8. The Chinese texts address the reader as 您,
never 你.

The templates: HTML with tags in double braces, nothing else. Every value is escaped for
where it stands; the markup of a template is written in the template alone.

    {{name}}          text slot: HTML-escaped (text, or a quoted attribute value)
    {{name:url}}      a local path made by the program ("/..."), at the start of a URL
                      attribute (href, src, action, formaction)
    {{name:pct}}      percent-encoded, in a URL attribute's query (after its '?')
    {{name:int}}      an int
    {{{name}}}        markup made by this program (the stylesheet, an SVG), never
                      request text; in text or in <style> only
    {{@id}}           the catalog's message id in the page's language, escaped
    {{#name}}...{{/name}}   shown when the slot is present (a non-empty string, a
                      non-zero int, a true bool); {{^name}}...{{/name}} when it is not
    {{*list}}...{{/list}}   repeated for each item of list; {{.field}} (and
                      {{#.field}}, ...) is a field of the item; no nested lists
    {{>_partial}}     the partial _partial.html, inserted here at build time (its slots
                      are the including template's)
    {{%body}}         the split point of the layout: what comes before it is written by
                      page_begin, what comes after by page_send
    {{! comment }}    dropped

A section, list, partial, comment or body tag alone on its line takes its line with it
(indentation and newline), as in Mustache. A slot's C type follows from its use: a
string (const char *), an int, a bool (used only as a section), a list
(const struct tpl_NAME_LIST *LIST; size_t LIST_n). A string slot used outside a section
on itself is required: a NULL there is a rendering error. Rules checked here: tags
balanced and known, slots only where their escaping holds (no slot in a tag name, an
attribute name, an unquoted value, an event handler or style attribute, a comment or a
script), the HTML state at a section's end equal to its start, a template that ends
outside any tag, no literal words outside tags (letters or Chinese characters: the
words come from the catalog), every {{@id}} in the catalog, no slot used as two types.
"""
import argparse
import os
import re
import sys

LANGS = ("zh-CN", "en")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ID_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
URL_ATTRS = {"href", "src", "action", "formaction"}
FORBIDDEN_ATTRS = {"style", "srcdoc"}


class EmbedError(Exception):
    """A rule broken by an input file; the message starts with file:line."""


def fail(path, line, msg):
    raise EmbedError("%s:%d: %s" % (path, line, msg))


def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    if b"\0" in data:
        fail(path, data[:data.index(b"\0")].count(b"\n") + 1, "NUL byte")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(path, data[:e.start].count(b"\n") + 1, "invalid UTF-8")


def c_bytes(data):
    """A C initializer list of the bytes and a final 0, 16 to a line."""
    vals = ["0x%02x" % b for b in data] + ["0x00"]
    return "\n".join("\t" + ", ".join(vals[i:i + 16]) + ","
                     for i in range(0, len(vals), 16))


def c_string(s):
    """A C string literal of s (UTF-8 kept as it is; quotes, backslashes escaped)."""
    out = []
    for ch in s:
        if ch in "\\\"":
            out.append("\\" + ch)
        elif ch == "?":
            out.append("\\?")          # no trigraphs
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def rel(path):
    """path as the repository names it (for the notes in generated files)."""
    return os.path.relpath(os.path.abspath(path), ROOT)


def generated_note(what):
    return ("/* GENERATED by tools/embed.py from %s: edit those files, not this one. */\n"
            % what)


def guard_of(path):
    return "YH_GEN_" + re.sub(r"[^A-Z0-9]", "_", os.path.basename(path).upper())


def stem_of(path):
    stem = os.path.basename(path).rsplit(".", 1)[0]
    if not ID_RE.match(stem):
        fail(path, 1, "file name must be [a-z][a-z0-9_]* plus an extension")
    return stem


# ---- files ---------------------------------------------------------------------------

def cmd_files(args):
    prefix = args.prefix
    stems = [stem_of(p) for p in args.files]
    if len(set(stems)) != len(stems):
        raise EmbedError("%s: two files with one name" % prefix)
    datas = [read_text(p).encode("utf-8") for p in args.files]
    names = ", ".join(rel(p) for p in args.files)
    up = prefix.upper()
    h = [generated_note(names), "#ifndef %s\n#define %s\n\n#include <stddef.h>\n\n"
         % (guard_of(args.header), guard_of(args.header))]
    h.append("enum %s_file {\n" % prefix)
    h += ["\t%s_%s,\n" % (up, s.upper()) for s in stems]
    h.append("\t%s_COUNT\n};\n\n" % up)
    h.append("/* The files' bytes, each NUL-terminated; their lengths (without the NUL); "
             "their names. */\n")
    h.append("extern const char *const %s_text[%s_COUNT];\n" % (prefix, up))
    h.append("extern const size_t %s_len[%s_COUNT];\n" % (prefix, up))
    h.append("extern const char *const %s_name[%s_COUNT];\n\n#endif\n" % (prefix, up))
    c = [generated_note(names), "#include \"%s\"\n\n" % os.path.basename(args.header)]
    for s, d in zip(stems, datas):
        c.append("static const char f_%s[] = {\n%s\n};\n\n" % (s, c_bytes(d)))
    c.append("const char *const %s_text[%s_COUNT] = {\n" % (prefix, up))
    c += ["\t[%s_%s] = f_%s,\n" % (up, s.upper(), s) for s in stems]
    c.append("};\n\nconst size_t %s_len[%s_COUNT] = {\n" % (prefix, up))
    c += ["\t[%s_%s] = %d,\n" % (up, s.upper(), len(d)) for s, d in zip(stems, datas)]
    c.append("};\n\nconst char *const %s_name[%s_COUNT] = {\n" % (prefix, up))
    c += ["\t[%s_%s] = %s,\n" % (up, s.upper(), c_string(os.path.basename(p)))
          for s, p in zip(stems, args.files)]
    c.append("};\n")
    write_if_changed(args.header, "".join(h))
    write_if_changed(args.source, "".join(c))


# ---- the message catalog -------------------------------------------------------------

def parse_catalog(path):
    """[(id, {lang: text}, line)] in file order."""
    out, cur, seen = [], None, {}
    for n, line in enumerate(read_text(path).split("\n"), 1):
        if line.strip() == "" or line.lstrip().startswith("#"):
            continue
        if line != line.rstrip():
            fail(path, n, "trailing blank")
        if line.startswith("["):
            if not line.endswith("]") or not ID_RE.match(line[1:-1]):
                fail(path, n, "a message id is [a-z][a-z0-9_]* in brackets")
            mid = line[1:-1]
            if mid in seen:
                fail(path, n, "message %s already defined at line %d" % (mid, seen[mid]))
            seen[mid] = n
            cur = (mid, {}, n)
            out.append(cur)
            continue
        m = re.match(r"([A-Za-z-]+)\s*=\s*(.*)\Z", line)
        if m is None:
            fail(path, n, "expected [id], LANG = text, a comment or a blank line")
        if cur is None:
            fail(path, n, "a text before the first [id]")
        lang, text = m.group(1), m.group(2)
        if lang not in LANGS:
            fail(path, n, "unknown language %s (known: %s)" % (lang, ", ".join(LANGS)))
        if lang in cur[1]:
            fail(path, n, "%s given twice for %s" % (lang, cur[0]))
        if text.startswith('"'):
            if len(text) < 2 or not text.endswith('"'):
                fail(path, n, "a quoted text ends with a double quote")
            text = text[1:-1]
        if text == "":
            fail(path, n, "empty text")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in text):
            fail(path, n, "control character")
        if lang == "zh-CN" and "你" in text:
            fail(path, n, "the pages address the reader as 您, not 你")
        cur[1][lang] = (text, n)
    for mid, texts, n in out:
        for lang in LANGS:
            if lang not in texts:
                fail(path, n, "message %s has no %s text" % (mid, lang))
    return out


def cmd_messages(args):
    cat = parse_catalog(args.catalog)
    src = rel(args.catalog)
    h = [generated_note(src), "#ifndef %s\n#define %s\n\n"
         % (guard_of(args.header), guard_of(args.header))]
    h.append("/* The messages of the pages (%s). */\nenum page_msg {\n"
             "\tPAGE_MSG_NONE = 0,           /* no message: the empty text */\n" % src)
    h += ["\tPAGE_MSG_%s,\n" % mid.upper() for mid, _, _ in cat]
    h.append("\tPAGE_MSG_COUNT\n};\n\n")
    h.append("/* page_msg_text[m][0] in zh-CN, [m][1] in en (see authd/ui/pages.h: "
             "page_msg). */\n")
    h.append("extern const char *const page_msg_text[PAGE_MSG_COUNT][2];\n\n#endif\n")
    c = [generated_note(src), "#include \"%s\"\n\n" % os.path.basename(args.header)]
    c.append("const char *const page_msg_text[PAGE_MSG_COUNT][2] = {\n")
    c.append("\t[PAGE_MSG_NONE] = { \"\", \"\" },\n")
    for mid, texts, _ in cat:
        c.append("\t[PAGE_MSG_%s] = {\n\t\t%s,\n\t\t%s },\n" % (
            mid.upper(), c_string(texts["zh-CN"][0]), c_string(texts["en"][0])))
    c.append("};\n")
    write_if_changed(args.header, "".join(h))
    write_if_changed(args.source, "".join(c))


def cmd_check_messages(args):
    ids = [mid for mid, _, _ in parse_catalog(args.catalog)]
    used = set()
    for root in args.sources:
        for dirpath, _, files in os.walk(root):
            for f in files:
                if f.endswith((".c", ".h")):
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        used.update(m.lower() for m in
                                    re.findall(r"\bPAGE_MSG_([A-Z0-9_]+)", fh.read()))
    for f in os.listdir(args.templates):
        if f.endswith(".html"):
            with open(os.path.join(args.templates, f), encoding="utf-8") as fh:
                used.update(re.findall(r"\{\{@([a-z0-9_]+)\}\}", fh.read()))
    unused = [mid for mid in ids if mid not in used]
    if unused:
        print("%s: message(s) no template or C file uses: %s"
              % (args.catalog, " ".join(unused)), file=sys.stderr)
        return 1
    print("%d messages, each used" % len(ids))
    return 0


# ---- templates: tokens ---------------------------------------------------------------

TAG_RE = re.compile(r"\{\{\{([a-z][a-z0-9_]*)\}\}\}|\{\{(.*?)\}\}", re.S)
SLOT_RE = re.compile(r"(\.?)([a-z][a-z0-9_]*)(?::(url|pct|int))?\Z")


class Tok:
    """One piece of a template: kind 'lit' (text) or a tag kind, with its file:line."""

    def __init__(self, kind, path, line, text="", name="", item=False, fmt=""):
        self.kind, self.path, self.line = kind, path, line
        self.text, self.name, self.item, self.fmt = text, name, item, fmt

    def where(self, msg):
        fail(self.path, self.line, msg)


def tokenize(path, text):
    """The tokens of a template. A line holding only blanks and one standalone tag
    (section, list, partial, comment, body) loses its blanks and its newline."""
    cut = []                     # [start, end) spans of text dropped
    for m in TAG_RE.finditer(text):
        if m.group(1) is not None or m.group(2)[:1] not in "#^*/>!%":
            continue
        ls = text.rfind("\n", 0, m.start()) + 1
        le = text.find("\n", m.end())
        le = len(text) if le < 0 else le + 1
        if text[ls:m.start()].strip(" \t") == "" and text[m.end():le].strip(" \t\n") == "":
            cut += [(ls, m.start()), (m.end(), le)]
    keep = [True] * len(text)
    for a, b in cut:
        for i in range(a, b):
            keep[i] = False
    toks, pos = [], 0

    def lit(a, b):
        s = "".join(text[i] for i in range(a, b) if keep[i])
        if s:
            toks.append(Tok("lit", path, text.count("\n", 0, a) + 1, text=s))
    for m in TAG_RE.finditer(text):
        lit(pos, m.start())
        toks.append(parse_tag(path, text.count("\n", 0, m.start()) + 1, m))
        pos = m.end()
    lit(pos, len(text))
    for t in toks:
        m = re.search(r"\{\{|\}\}", t.text) if t.kind == "lit" else None
        if m is not None:
            fail(path, t.line + t.text.count("\n", 0, m.start()), "a lone {{ or }}")
    return toks


def parse_tag(path, line, m):
    if m.group(1) is not None:
        return Tok("raw", path, line, name=m.group(1))
    body = m.group(2)
    if body.startswith("!"):
        return Tok("comment", path, line)
    sigil, rest = body[:1], body[1:]
    if sigil == "@":
        if not ID_RE.match(rest):
            fail(path, line, "bad message id {{%s}}" % body)
        return Tok("msg", path, line, name=rest)
    if sigil in "#^*/":
        m2 = re.match(r"(\.?)([a-z][a-z0-9_]*)\Z", rest)
        if m2 is None:
            fail(path, line, "bad section tag {{%s}}" % body)
        kind = {"#": "open", "^": "inv", "*": "each", "/": "close"}[sigil]
        return Tok(kind, path, line, name=m2.group(2), item=m2.group(1) == ".")
    if sigil == ">":
        if not re.match(r"_[a-z][a-z0-9_]*\Z", rest):
            fail(path, line, "a partial's name starts with _: {{%s}}" % body)
        return Tok("partial", path, line, name=rest)
    if body == "%body":
        return Tok("body", path, line)
    m2 = SLOT_RE.match(body)
    if m2 is None:
        fail(path, line, "unknown tag {{%s}}" % body)
    return Tok("slot", path, line, name=m2.group(2), item=m2.group(1) == ".",
               fmt=m2.group(3) or "text")


def expand_partials(toks, partials, stack=()):
    out = []
    for t in toks:
        if t.kind != "partial":
            out.append(t)
            continue
        if t.name not in partials:
            t.where("no partial %s.html" % t.name)
        if t.name in stack:
            t.where("partial %s includes itself" % t.name)
        out += expand_partials(partials[t.name], partials, stack + (t.name,))
    return out


# ---- templates: the HTML context of each tag -----------------------------------------

class Html:
    """A small HTML tokenizer's state: enough to tell where a tag of ours stands."""

    def __init__(self):
        self.state = "data"
        self.tag = ""            # the name of the tag being read
        self.closing = False
        self.attr = ""           # the attribute being read
        self.value = ""          # its value so far
        self.raw = ""            # "style" or "script" inside such an element

    def key(self):
        """What must be the same at a section's start and end: inside a tag, between
        attributes counts as one state (a section may add attributes)."""
        if self.state in ("tagname", "intag", "attrname", "afterattr"):
            return ("intag", self.tag)
        if self.state in ("beforevalue", "dq", "sq", "unquoted"):
            return (self.state, self.tag, self.attr)
        return (self.state, self.raw)

    def feed(self, tok, s):
        i = 0
        while i < len(s):
            c = s[i]
            st = self.state
            if st == "data":
                if s.startswith("<!--", i):
                    self.state = "comment"
                    i += 4
                    continue
                if c == "<" and i + 1 == len(s):
                    self.state = "tagopen"      # what follows decides
                    i += 1
                    continue
                if c == "<" and (s[i + 1].isalpha() or s[i + 1] in "/!"):
                    self.state, self.tag, self.closing = "tagname", "", s[i + 1] == "/"
                    i += 2 if s[i + 1] == "/" else 1
                    continue
                if c == "&":
                    m = re.match(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);", s[i:])
                    if m is None:
                        tok.where("a bare & in text: write &amp;")
                    i += len(m.group(0))
                    continue
                if c.isalpha() or "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff":
                    tok.where("literal words in a template (%r): put them in the message "
                              "catalog and write {{@id}}" % s[i:i + 20])
            elif st == "tagopen":
                if c.isalpha() or c in "/!":
                    self.state, self.tag, self.closing = "tagname", "", c == "/"
                    i += 1 if c == "/" else 0
                else:
                    self.state = "data"
                continue
            elif st == "comment":
                if s.startswith("-->", i):
                    self.state = "data"
                    i += 3
                    continue
            elif st == "rawtext":
                if s[i:i + 2 + len(self.raw)].lower() == "</" + self.raw:
                    self.state, self.tag, self.closing = "tagname", "", True
                    self.raw = ""
                    i += 2
                    continue
            elif st == "tagname":
                if c.isalnum() or c in "-!":
                    self.tag += c.lower()
                elif c.isspace() or c == "/":
                    self.state = "intag"
                elif c == ">":
                    self.end_tag()
                else:
                    tok.where("bad character %r in a tag name" % c)
            elif st == "intag":
                if c == ">":
                    self.end_tag()
                elif not c.isspace() and c != "/":
                    self.state, self.attr = "attrname", c.lower()
            elif st == "attrname":
                if c == "=":
                    self.state, self.value = "beforevalue", ""
                elif c.isspace():
                    self.state = "afterattr"
                elif c == ">":
                    self.end_tag()
                else:
                    self.attr += c.lower()
            elif st == "afterattr":
                if c == "=":
                    self.state, self.value = "beforevalue", ""
                elif c == ">":
                    self.end_tag()
                elif not c.isspace():
                    self.state, self.attr = "attrname", c.lower()
            elif st == "beforevalue":
                if c == '"':
                    self.state = "dq"
                elif c == "'":
                    self.state = "sq"
                elif c == ">":
                    self.end_tag()
                elif not c.isspace():
                    self.state, self.value = "unquoted", c
            elif st in ("dq", "sq"):
                if c == ('"' if st == "dq" else "'"):
                    self.state, self.attr = "intag", ""
                else:
                    self.value += c
            elif st == "unquoted":
                if c.isspace():
                    self.state, self.attr = "intag", ""
                elif c == ">":
                    self.end_tag()
                else:
                    self.value += c
            i += 1

    def end_tag(self):
        if not self.closing and self.tag in ("style", "script"):
            self.state, self.raw = "rawtext", self.tag
        else:
            self.state = "data"
        self.attr = ""

    def check_slot(self, tok):
        """Whether a value tag (slot, raw, msg) may stand here."""
        st, kind = self.state, tok.kind
        fmt = tok.fmt if kind == "slot" else kind
        if st == "data":
            if fmt in ("url", "pct"):
                tok.where("{{%s:%s}} belongs in a URL attribute" % (tok.name, fmt))
            return
        if st == "rawtext":
            if self.raw == "style" and kind == "raw":
                return
            tok.where("no slot inside <%s> but {{{markup}}} in <style>" % self.raw)
        if st not in ("dq", "sq"):
            tok.where("a slot here would not be escaped (state %s: not text, not a "
                      "quoted attribute value)" % st)
        a = self.attr
        if a in URL_ATTRS:
            if not ((fmt == "url" and self.value == "") or
                    (fmt in ("pct", "int") and "?" in self.value)):
                tok.where("in the URL attribute %s only {{name:url}} at its start and "
                          "{{name:pct}} or {{name:int}} in its query" % a)
        elif a.startswith("on") or a in FORBIDDEN_ATTRS:
            tok.where("no slot in the %s attribute" % a)
        elif fmt not in ("text", "int", "msg"):
            tok.where("{{%s}} cannot stand in the attribute %s" % (tok.name, a))
        self.value += "/x"


# ---- templates: compiling ------------------------------------------------------------

class Scope:
    """The slots of a template (or of one list's items): name -> type, first use."""

    def __init__(self, struct):
        self.struct = struct
        self.slots = {}

    def use(self, tok, typ):
        have = self.slots.get(tok.name)
        if have is None:
            self.slots[tok.name] = [typ, tok]
            return
        if have[0] == typ:
            return
        if typ == "bool" and have[0] in ("str", "int", "raw", "list"):
            return
        if have[0] == "bool" and typ in ("str", "int", "raw", "list"):
            have[0] = typ
            return
        tok.where("slot %s used as %s here and as %s at line %d"
                  % (tok.name, typ, have[0], have[1].line))


class Op:
    """One operation of a compiled template (see authd/ui/pages.h: struct page_tpl_op)."""

    def __init__(self, kind, tok=None, scope=None, a=0, b=0):
        self.kind, self.tok, self.scope = kind, tok, scope
        self.a, self.b = a, b    # LIT: offset, length
        self.end = None          # IF, UNLESS, EACH: the index after the section
        self.required = False


def compile_template(name, toks, msg_ids):
    """(ops, text bytes, outer scope, {list: item scope}, split index or None)."""
    text = bytearray()
    ops = []
    outer = Scope("tpl_%s" % name)
    lists = {}
    html = Html()
    stack = []                   # (opening tok, op index, html key)
    split = None
    cur = None                   # the scope of the list being read, or None
    for t in toks:
        if t.kind == "lit":
            html.feed(t, t.text)
            data = t.text.encode("utf-8")
            ops.append(Op("LIT", t, a=len(text), b=len(data)))
            text += data
            continue
        if t.kind == "comment":
            continue
        if t.kind == "body":
            if stack or split is not None:
                t.where("{{%body}} once, outside any section")
            if html.state != "data":
                t.where("{{%body}} between tags only")
            split = len(ops)
            ops.append(Op("BODY", t))
            continue
        if t.item and cur is None:
            t.where("{{.%s}} outside a list" % t.name)
        scope = cur if t.item else outer
        if t.kind in ("open", "inv"):
            scope.use(t, "bool")
            stack.append((t, len(ops), html.key()))
            ops.append(Op("IF" if t.kind == "open" else "UNLESS", t, scope))
            continue
        if t.kind == "each":
            if t.item or cur is not None:
                t.where("no list inside a list")
            outer.use(t, "list")
            cur = lists.setdefault(t.name, Scope("tpl_%s_%s" % (name, t.name)))
            stack.append((t, len(ops), html.key()))
            ops.append(Op("EACH", t, outer))
            continue
        if t.kind == "close":
            if not stack or stack[-1][0].name != t.name or stack[-1][0].item != t.item:
                t.where("{{/%s}} closes nothing open" % t.name)
            opener, idx, key = stack.pop()
            if html.key() != key:
                t.where("the section %s opened at line %d ends in another HTML state"
                        % (t.name, opener.line))
            ops[idx].end = len(ops)
            if opener.kind == "each":
                cur = None
            continue
        html.check_slot(t)
        if t.kind == "msg":
            if t.name not in msg_ids:
                t.where("no message %s in the catalog" % t.name)
            ops.append(Op("MSG", t))
            continue
        typ = "raw" if t.kind == "raw" else "int" if t.fmt == "int" else "str"
        scope.use(t, typ)
        op = Op("RAW" if t.kind == "raw" else t.fmt.upper(), t, scope)
        op.required = not any(o.name == t.name and o.item == t.item and o.kind == "open"
                              for o, _, _ in stack)
        ops.append(op)
    if stack:
        o = stack[-1][0]
        o.where("the section %s is never closed" % o.name)
    if html.state != "data":
        (toks[-1] if toks else Tok("lit", name, 1)).where(
            "the template ends inside a tag or comment (%s)" % html.state)
    return ops, bytes(text), outer, lists, split


C_TYPES = {"str": "const char *", "raw": "const char *", "int": "int ", "bool": "bool "}
SLOT_KIND = {"str": "PAGE_SLOT_STR", "raw": "PAGE_SLOT_STR", "int": "PAGE_SLOT_INT",
             "bool": "PAGE_SLOT_BOOL", "list": "PAGE_SLOT_SIZE"}


def struct_decl(scope, lists, comment):
    out = ["/* %s */\nstruct %s {\n" % (comment, scope.struct)]
    if not scope.slots:
        out.append("\tchar unused;           /* no slot */\n")
    for slot, (typ, _) in sorted(scope.slots.items()):
        if typ == "list":
            out.append("\tconst struct %s *%s;\n\tsize_t %s_n;\n"
                       % (lists[slot].struct, slot, slot))
        else:
            out.append("\t%s%s;\n" % (C_TYPES[typ], slot))
    out.append("};\n\n")
    return "".join(out)


def op_c(op, lists):
    """The C initializer of op: { op, kind, item, required, a, b, end, size, name }."""
    k = op.kind
    if k in ("LIT", "BODY"):
        return "{ PAGE_OP_%s, 0, false, false, %d, %d, 0, 0, NULL }" % (k, op.a, op.b)
    t = op.tok
    if k == "MSG":
        return "{ PAGE_OP_MSG, 0, false, false, PAGE_MSG_%s, 0, 0, 0, NULL }" % t.name.upper()
    off = "offsetof(struct %s, %s)" % (op.scope.struct, t.name)
    item = "true" if t.item else "false"
    name = c_string(t.name)
    if k in ("IF", "UNLESS"):
        typ = op.scope.slots[t.name][0]
        if typ == "list":        # present: at least one item
            off = "offsetof(struct %s, %s_n)" % (op.scope.struct, t.name)
        return "{ PAGE_OP_%s, %s, %s, false, %s, 0, %d, 0, %s }" % (
            k, SLOT_KIND[typ], item, off, op.end, name)
    if k == "EACH":
        return ("{ PAGE_OP_EACH, PAGE_SLOT_SIZE, false, false, %s, offsetof(struct %s, %s_n), "
                "%d, sizeof(struct %s), %s }" % (off, op.scope.struct, t.name, op.end,
                                                 lists[t.name].struct, name))
    kind = "PAGE_SLOT_INT" if k == "INT" else "PAGE_SLOT_STR"
    return "{ PAGE_OP_%s, %s, %s, %s, %s, 0, 0, 0, %s }" % (
        k, kind, item, "true" if op.required else "false", off, name)


def cmd_templates(args):
    msg_ids = {mid for mid, _, _ in parse_catalog(args.messages)}
    partials, templates, others = {}, [], []
    for p in args.files:
        base = os.path.basename(p)
        if base.endswith(".html") and base.startswith("_"):
            stem_of(os.path.join(os.path.dirname(p), base[1:]))
            partials[base[:-5]] = tokenize(p, read_text(p))
        elif base.endswith(".html"):
            templates.append((stem_of(p), p))
        else:
            others.append((stem_of(p), p))
    srcs = "%s/ (%s)" % (rel(os.path.dirname(args.files[0])),
                         ", ".join(sorted(os.path.basename(p) for p in args.files)))
    h = [generated_note(srcs),
         "#ifndef %s\n#define %s\n\n#include <stdbool.h>\n#include <stddef.h>\n\n"
         "#include \"authd/ui/pages.h\"\n\n" % (guard_of(args.header), guard_of(args.header))]
    c = [generated_note(srcs),
         "#include <stddef.h>\n\n#include \"%s\"\n\n" % os.path.basename(args.header)]
    for stem, p in others:
        data = read_text(p).encode("utf-8")
        if b"</" in data:
            fail(p, 1, "no '</' in an embedded stylesheet (it would end the <style>)")
        h.append("/* %s, NUL-terminated, and its length. */\n"
                 "extern const char tpl_file_%s[];\nextern const size_t tpl_file_%s_len;\n\n"
                 % (os.path.basename(p), stem, stem))
        c.append("const char tpl_file_%s[] = {\n%s\n};\nconst size_t tpl_file_%s_len = %d;\n\n"
                 % (stem, c_bytes(data), stem, len(data)))
    structs = {}
    for stem, p in templates:
        toks = expand_partials(tokenize(p, read_text(p)), partials)
        ops, text, outer, lists, split = compile_template(stem, toks, msg_ids)
        for lname, sc in sorted(lists.items()):
            h.append(struct_decl(sc, lists, "One item of the list %s of %s.html."
                                 % (lname, stem)))
        h.append(struct_decl(outer, lists, "The slots of %s.html." % stem))
        h.append("extern const struct page_tpl tpl_%s;\n\n" % stem)
        h.append("/* Appends %s.html filled with v (authd/ui/pages.h: page_render). */\n"
                 "static inline void\ntpl_%s_render(struct page *p, const struct tpl_%s *v)\n"
                 "{\n\tpage_render(p, &tpl_%s, v);\n}\n\n" % (stem, stem, stem, stem))
        c.append("static const char text_%s[] = {\n%s\n};\n\n" % (stem, c_bytes(text)))
        c.append("static const struct page_tpl_op ops_%s[] = {\n" % stem)
        c += ["\t%s,\n" % op_c(o, lists) for o in ops]
        c.append("};\n\nconst struct page_tpl tpl_%s = {\n\t%s, text_%s, ops_%s,\n"
                 "\tsizeof(ops_%s) / sizeof(ops_%s[0]), %d, sizeof(struct tpl_%s)\n};\n\n" % (
                     stem, c_string(stem), stem, stem, stem, stem,
                     split if split is not None else len(ops), stem))
        for sc in [outer] + list(lists.values()):
            if sc.struct in structs:
                fail(p, 1, "struct %s is also %s's" % (sc.struct, structs[sc.struct]))
            structs[sc.struct] = p
    c.append("const struct page_tpl *const page_tpl_all[] = {\n")
    c += ["\t&tpl_%s,\n" % stem for stem, _ in templates]
    c.append("\tNULL\n};\n")
    h.append("#endif\n")
    write_if_changed(args.header, "".join(h))
    write_if_changed(args.source, "".join(c))


# ---- main ----------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("files")
    f.add_argument("--prefix", required=True)
    m = sub.add_parser("messages")
    m.add_argument("catalog")
    t = sub.add_parser("templates")
    t.add_argument("--messages", required=True)
    for p in (f, m, t):
        p.add_argument("--header", required=True)
        p.add_argument("--source", required=True)
    for p in (f, t):
        p.add_argument("files", nargs="+")
    k = sub.add_parser("check-messages")
    k.add_argument("catalog")
    k.add_argument("--templates", required=True)
    k.add_argument("--sources", nargs="+", required=True)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "files":
            cmd_files(args)
        elif args.cmd == "messages":
            cmd_messages(args)
        elif args.cmd == "templates":
            cmd_templates(args)
        else:
            return cmd_check_messages(args)
    except EmbedError as e:
        print("embed.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
