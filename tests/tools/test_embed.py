#!/usr/bin/env python3
"""Tests of tools/embed.py: what it refuses (each rule of its templates and of the message
catalog, with the file:line it names) and what it writes for a template that is right.
Run by meson test (embed) as `python3 tests/tools/test_embed.py`."""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMBED = os.path.join(ROOT, "tools", "embed.py")

CATALOG = """# a catalog
[hello]
zh-CN = 您好
en = Hello

[colon]
zh-CN = ：
en = ": "
"""


class Embed(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def run_embed(self, *args):
        return subprocess.run([sys.executable, EMBED] + list(args), capture_output=True,
                              text=True, cwd=self.dir)

    def templates(self, files, catalog=CATALOG):
        """Runs templates mode on {name: text}; (returncode, stderr, header, source)."""
        cat = self.write("messages.txt", catalog)
        paths = [self.write(n, t) for n, t in files.items()]
        h, c = os.path.join(self.dir, "t.h"), os.path.join(self.dir, "t.c")
        r = self.run_embed("templates", "--messages", cat, "--header", h, "--source", c,
                           *paths)
        if r.returncode != 0:
            return r.returncode, r.stderr, "", ""
        with open(h, encoding="utf-8") as fh, open(c, encoding="utf-8") as fc:
            return 0, r.stderr, fh.read(), fc.read()

    def refused(self, text, want, line=1, name="page.html"):
        rc, err, _, _ = self.templates({name: text})
        self.assertEqual(rc, 1, "accepted: %r" % text)
        self.assertIn("%s:%d:" % (name, line), err)
        self.assertIn(want, err)

    def accepted(self, files):
        rc, err, h, c = self.templates(files)
        self.assertEqual(rc, 0, err)
        return h, c

    # ---- the catalog

    def catalog_refused(self, catalog, want, line):
        path = self.write("messages.txt", catalog)
        r = self.run_embed("messages", "--header", os.path.join(self.dir, "m.h"),
                           "--source", os.path.join(self.dir, "m.c"), path)
        self.assertEqual(r.returncode, 1, "accepted: %r" % catalog)
        self.assertIn("messages.txt:%d:" % line, r.stderr)
        self.assertIn(want, r.stderr)

    def test_catalog_rules(self):
        self.catalog_refused("[a]\nzh-CN = 一\n", "has no en text", 1)
        self.catalog_refused("[a]\nen = one\n", "has no zh-CN text", 1)
        self.catalog_refused("[a]\nzh-CN = 你好\nen = hi\n", "您, not 你", 2)
        self.catalog_refused("[a]\nzh-CN = 一\nen = one\n[a]\nzh-CN = 一\nen = one\n",
                             "already defined at line 1", 4)
        self.catalog_refused("[a]\nzh-CN = 一 \nen = one\n", "trailing blank", 2)
        self.catalog_refused("[a]\nfr = un\n", "unknown language fr", 2)
        self.catalog_refused("[A]\n", "[a-z][a-z0-9_]*", 1)
        self.catalog_refused("zh-CN = 一\n", "before the first [id]", 1)
        self.catalog_refused("[a]\nzh-CN = \"一\nen = one\n", "ends with a double quote", 2)
        self.catalog_refused("[a]\nzh-CN = 一\nen = one\nen = two\n", "en given twice", 4)

    def test_catalog_output(self):
        path = self.write("messages.txt", CATALOG)
        h, c = os.path.join(self.dir, "m.h"), os.path.join(self.dir, "m.c")
        r = self.run_embed("messages", "--header", h, "--source", c, path)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(h, encoding="utf-8") as fh, open(c, encoding="utf-8") as fc:
            hdr, src = fh.read(), fc.read()
        self.assertIn("PAGE_MSG_NONE = 0", hdr)
        self.assertIn("PAGE_MSG_HELLO,\n\tPAGE_MSG_COLON,\n\tPAGE_MSG_COUNT", hdr)
        self.assertIn('"您好",\n\t\t"Hello" }', src)
        self.assertIn('"：",\n\t\t": " }', src)      # the quotes keep the blank

    def test_unused_messages(self):
        cat = self.write("messages.txt", CATALOG)
        os.mkdir(os.path.join(self.dir, "tpl"))
        os.mkdir(os.path.join(self.dir, "src"))
        self.write("tpl/a.html", "<p>{{@hello}}</p>\n")
        self.write("src/a.c", "x = PAGE_MSG_NONE;\n")
        args = ("check-messages", cat, "--templates", os.path.join(self.dir, "tpl"),
                "--sources", os.path.join(self.dir, "src"))
        r = self.run_embed(*args)
        self.assertEqual(r.returncode, 1)
        self.assertIn("uses: colon", r.stderr)
        self.write("src/a.c", "x = PAGE_MSG_COLON;\n")
        self.assertEqual(self.run_embed(*args).returncode, 0)

    # ---- templates: where a slot may stand

    def test_slot_contexts(self):
        self.refused('<p {{x}}>t</p>', "would not be escaped")
        self.refused('<p class={{x}}>', "would not be escaped")
        self.refused('<{{x}}>', "would not be escaped")
        self.refused('<p></{{x}}>', "would not be escaped")
        self.refused('<a onclick="{{x}}">', "no slot in the onclick attribute")
        self.refused('<p style="{{x}}">', "no slot in the style attribute")
        self.refused('<a href="{{x}}">', "only {{name:url}} at its start")
        self.refused('<a href="/a{{x:url}}">', "only {{name:url}} at its start")
        self.refused('<a href="/a/{{x:pct}}">', "only {{name:url}} at its start")
        self.refused('<form action="{{@hello}}">', "only {{name:url}} at its start")
        self.refused('<p title="{{{x}}}">', "cannot stand in the attribute title")
        self.refused('<p>{{x:url}}</p>', "belongs in a URL attribute")
        self.refused('<script>{{x}}</script>', "no slot inside <script>")
        self.refused('<style>{{x}}</style>', "no slot inside <style>")
        self.refused('<!-- {{x}} -->', "would not be escaped")

    def test_sections_and_lists(self):
        self.refused('{{#x}}<p>', "is never closed")
        self.refused('{{/x}}', "closes nothing open")
        self.refused('<p>{{#x}}</p>{{/y}}', "closes nothing open")
        self.refused('<a {{#x}}href="{{/x}}">', "ends in another HTML state")
        self.refused('{{*a}}{{*b}}{{/b}}{{/a}}', "no list inside a list")
        self.refused('<p>{{.x}}</p>', "outside a list")
        self.refused('<p>{{x}} {{x:int}}</p>', "used as int here and as str")
        self.refused('<p>{{%body}}</p>{{%body}}', "once, outside any section")

    def test_words_and_tags(self):
        self.refused('<p>Hello</p>', "literal words")
        self.refused('<p>登录</p>', "literal words")
        self.refused('<p>{{x}} & {{y}}</p>', "a bare &")
        self.refused('<p>&{{x}}</p>', "a bare &")
        self.refused('<p>{{@nope}}</p>', "no message nope")
        self.refused('<p>{{x:html}}</p>', "unknown tag")
        self.refused('<p>{{>nope}}</p>', "starts with _")
        self.refused('<p>{{>_nope}}</p>', "no partial _nope.html")
        self.refused('<p>\n{{x}</p>', "a lone {{ or }}", line=2)
        self.refused('<p title="x', "ends inside a tag")

    def test_good_template(self):
        h, c = self.accepted({
            "_hidden.html": '<input type="hidden" name="csrf" value="{{csrf}}">\n',
            "page.html": (
                "{{! a comment line goes away with its newline }}\n"
                "<p>{{@hello}}{{@colon}}{{name}}</p>\n"
                "{{#next}}\n"
                '<a href="/x?next={{next:pct}}&amp;n={{n:int}}">{{next}}</a>\n'
                "{{/next}}\n"
                "<ul>\n{{*rows}}\n"
                '<li{{#.on}} class="on"{{/.on}}>{{.label}} {{csrf}}</li>\n'
                "{{/rows}}\n</ul>\n"
                "{{>_hidden}}\n"
                '<a href="{{home:url}}">{{{svg}}}</a>\n'),
        })
        # the slots are the struct's members, typed by their use
        self.assertIn("struct tpl_page_rows {\n\tconst char *label;\n\tbool on;\n};", h)
        for member in ("const char *csrf;", "const char *home;", "int n;",
                       "const char *name;", "const char *next;",
                       "const struct tpl_page_rows *rows;\n\tsize_t rows_n;",
                       "const char *svg;"):
            self.assertIn("\t" + member, h)
        self.assertIn("tpl_page_render(struct page *p, const struct tpl_page *v)", h)
        self.assertNotIn("struct tpl__hidden", h)     # a partial has no struct
        # standalone tags take their lines; the literal bytes are what is left
        lit = bytes(int(x, 16) for x in
                    c.split("text_page[] = {")[1].split("};")[0].replace(",", " ").split())
        self.assertEqual(lit.decode(), (
            "<p></p>\n"
            '<a href="/x?next=&amp;n="></a>\n'
            "<ul>\n"
            '<li class="on"> </li>\n'
            "</ul>\n"
            '<input type="hidden" name="csrf" value="">\n'
            '<a href=""></a>\n\0'))
        # name is required; next, inside its own section, is not
        self.assertIn("PAGE_OP_TEXT, PAGE_SLOT_STR, false, true, "
                      "offsetof(struct tpl_page, name)", c)
        self.assertIn("PAGE_OP_TEXT, PAGE_SLOT_STR, false, false, "
                      "offsetof(struct tpl_page, next)", c)
        self.assertIn("PAGE_OP_PCT, PAGE_SLOT_STR, false, false, "
                      "offsetof(struct tpl_page, next)", c)
        self.assertIn("PAGE_OP_URL", c)
        self.assertIn("PAGE_OP_RAW", c)
        self.assertIn("PAGE_OP_EACH, PAGE_SLOT_SIZE, false, false, "
                      "offsetof(struct tpl_page, rows), offsetof(struct tpl_page, rows_n)", c)
        self.assertIn("PAGE_OP_TEXT, PAGE_SLOT_STR, true, true, "
                      "offsetof(struct tpl_page_rows, label)", c)
        self.assertIn("&tpl_page,\n\tNULL\n};", c)

    def test_layout_body_split(self):
        _, c = self.accepted({"layout.html": "<main>\n{{%body}}\n</main>\n"})
        self.assertIn("{ PAGE_OP_BODY,", c)
        self.assertIn("sizeof(ops_layout) / sizeof(ops_layout[0]), 1,", c)

    # ---- files

    def test_files(self):
        a = self.write("one_a.lua", "return 1\n")
        b = self.write("two.sql", "SELECT 1;\n")
        h, c = os.path.join(self.dir, "f.h"), os.path.join(self.dir, "f.c")
        r = self.run_embed("files", "--prefix", "x_file", "--header", h, "--source", c, a, b)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(h, encoding="utf-8") as fh, open(c, encoding="utf-8") as fc:
            hdr, src = fh.read(), fc.read()
        self.assertIn("X_FILE_ONE_A,\n\tX_FILE_TWO,\n\tX_FILE_COUNT", hdr)
        self.assertIn("[X_FILE_ONE_A] = 9,", src)
        self.assertIn("0x72, 0x65, 0x74, 0x75, 0x72, 0x6e, 0x20, 0x31, 0x0a, 0x00", src)
        self.assertIn('[X_FILE_TWO] = "two.sql",', src)
        with open(os.path.join(self.dir, "bad.lua"), "wb") as f:
            f.write(b"return\n1\0")
        r = self.run_embed("files", "--prefix", "x", "--header", h, "--source", c,
                           os.path.join(self.dir, "bad.lua"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad.lua:2: NUL byte", r.stderr)
        r = self.run_embed("files", "--prefix", "x", "--header", h, "--source", c,
                           self.write("Bad-Name.sql", "SELECT 1;\n"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("file name must be", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)
