"""SES template rendering (Handlebars), table-driven.

The expected outputs of RENDERED and ESCAPED are what Handlebars.js 4.7 writes for
the same template and data (checked when the tables were written); the SES-specific
behaviour (missing attributes, placeholders, no escaping) has its own tables.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sesame.mail import render as render_module
from sesame.mail.handlebars import parser, runtime
from sesame.mail.render import (
    MissingAttributeError,
    RenderingError,
    TemplateDataError,
    TemplateSyntaxError,
    check_template,
    parse_template_data,
    render,
    render_template,
)

DATA: dict[str, Any] = {
    "name": "Ann",
    "n": 3,
    "zero": 0,
    "empty": "",
    "no": False,
    "yes": True,
    "nothing": None,
    "xs": ["a", "b", "c"],
    "none": [],
    "obj": {"k": "v", "j": 2},
    "blank": {},
    "contact": {"firstName": "Anaya", "lastName": "Iyengar", "city": "Bengaluru"},
    "meta": {"deep": {"er": {"est": "bottom"}}},
    "people": [{"name": "Bo", "age": 30}, {"name": "Cy", "age": 0}],
    "html": "<b>Tom & \"Jerry\"</b> 'x' `y` a=b",
    "odd key": "spaced",
    "float": 2.5,
    "whole": 10.0,
    "huge": 1e21,
    "tiny": 1e-7,
    "bigint": 12345678901234567890,
    "uni": "Grüße 👋 日本",
    "key": "k",
    "pname": "row",
}

# (id, template, expected) rendered against DATA with escape_html=False.
RENDERED: list[tuple[str, str, str]] = [
    # Variables and paths
    ("plain", "Hello {{name}}!", "Hello Ann!"),
    ("spaces inside tag", "{{  name  }}", "Ann"),
    ("number", "{{n}}", "3"),
    ("zero is written", "{{zero}}", "0"),
    ("empty string is written", "[{{empty}}]", "[]"),
    ("booleans", "{{yes}} {{no}}", "true false"),
    ("float", "{{float}}", "2.5"),
    ("integral float as js", "{{whole}}", "10"),
    ("large float as js", "{{huge}}", "1e+21"),
    ("small float as js", "{{tiny}}", "1e-7"),
    ("integers exact", "{{bigint}}", "12345678901234567890"),
    ("list joined", "{{xs}}", "a,b,c"),
    ("object", "{{obj}}", "[object Object]"),
    ("nested", "{{contact.firstName}} {{contact.lastName}}", "Anaya Iyengar"),
    ("nested slash", "{{contact/city}}", "Bengaluru"),
    ("deeply nested", "{{meta.deep.er.est}}", "bottom"),
    ("this prefix", "{{this.name}} {{./name}}", "Ann Ann"),
    ("literal segment", "{{[odd key]}}", "spaced"),
    ("string literal name", "{{'odd key'}} {{\"name\"}}", "spaced Ann"),
    ("list index", "{{xs.[1]}} {{people.[1].name}}", "b Cy"),
    ("numeric segment", "{{people.0.name}} {{xs.2}}", "Bo c"),
    ("length", "{{xs.length}} {{name.length}}", "3 3"),
    ("root", "{{@root.name}}", "Ann"),
    ("unicode", "{{uni}} ✓", "Grüße 👋 日本 ✓"),
    ("unicode template text", "Привет, {{name}} — ☃", "Привет, Ann — ☃"),
    ("triple stash", "{{{html}}}", "<b>Tom & \"Jerry\"</b> 'x' `y` a=b"),
    ("ampersand", "{{&html}}", "<b>Tom & \"Jerry\"</b> 'x' `y` a=b"),
    ("no tags", "just text, { braces } and }} too", "just text, { braces } and }} too"),
    ("single braces around", "{ {{name}} }", "{ Ann }"),
    ("css braces", "a{color:{{name}} }", "a{color:Ann }"),
    # if / unless / else
    ("if true", "{{#if name}}yes{{/if}}", "yes"),
    ("if else", "{{#if no}}yes{{else}}no{{/if}}", "no"),
    ("if caret else", "{{#if no}}yes{{^}}no{{/if}}", "no"),
    ("if zero is false", "{{#if zero}}Y{{else}}N{{/if}}", "N"),
    ("if includeZero", "{{#if zero includeZero=true}}Y{{else}}N{{/if}}", "Y"),
    ("if empty string", "{{#if empty}}Y{{else}}N{{/if}}", "N"),
    ("if null", "{{#if nothing}}Y{{else}}N{{/if}}", "N"),
    ("if missing", "{{#if missing}}Y{{else}}N{{/if}}", "N"),
    ("if missing nested", "{{#if contact.phone}}Y{{else}}N{{/if}}", "N"),
    ("if empty list", "{{#if none}}Y{{else}}N{{/if}}", "N"),
    ("if list", "{{#if xs}}Y{{else}}N{{/if}}", "Y"),
    ("if empty object is true", "{{#if blank}}Y{{else}}N{{/if}}", "Y"),
    ("if literals", "{{#if true}}T{{/if}}{{#if 0}}Z{{/if}}{{#if 'a'}}S{{/if}}", "TS"),
    ("unless", "{{#unless no}}shown{{/unless}}", "shown"),
    ("unless else", "{{#unless yes}}A{{else}}B{{/unless}}", "B"),
    ("unless includeZero", "{{#unless zero includeZero=true}}A{{else}}B{{/unless}}", "B"),
    ("else if", "{{#if no}}1{{else if zero}}2{{else if n}}3{{else}}4{{/if}}", "3"),
    ("else if none taken", "{{#if no}}1{{else if zero}}2{{/if}}", ""),
    ("else unless", "{{#if no}}1{{else unless zero}}2{{/if}}", "2"),
    ("else each", "{{#if no}}1{{else each xs}}{{this}}{{/if}}", "abc"),
    ("nested if", "{{#if yes}}{{#if n}}{{#unless no}}deep{{/unless}}{{/if}}{{/if}}", "deep"),
    # each
    ("each list", "{{#each xs}}{{this}};{{/each}}", "a;b;c;"),
    ("each dot", "{{#each xs}}{{.}}{{/each}}", "abc"),
    ("each index", "{{#each xs}}{{@index}}={{this}} {{/each}}", "0=a 1=b 2=c "),
    (
        "each first last",
        "{{#each xs}}{{#if @first}}[{{/if}}{{this}}{{#if @last}}]{{else}},{{/if}}{{/each}}",
        "[a,b,c]",
    ),
    ("each list key is index", "{{#each xs}}{{@key}}{{/each}}", "012"),
    ("each objects", "{{#each people}}{{name}}:{{age}} {{/each}}", "Bo:30 Cy:0 "),
    ("each over object", "{{#each obj}}{{@key}}={{this}}@{{@index}} {{/each}}", "k=v@0 j=2@1 "),
    ("each object last", "{{#each obj}}{{@key}}{{#unless @last}},{{/unless}}{{/each}}", "k,j"),
    ("each empty else", "{{#each none}}x{{else}}empty{{/each}}", "empty"),
    ("each missing else", "{{#each missing}}x{{else}}nothing{{/each}}", "nothing"),
    ("each over string", "{{#each name}}x{{else}}not a list{{/each}}", "not a list"),
    ("each parent", "{{#each people}}{{name}}/{{../name}} {{/each}}", "Bo/Ann Cy/Ann "),
    ("each root", "{{#each xs}}{{@root.n}}{{/each}}", "333"),
    ("each block params", "{{#each people as |p i|}}{{i}}:{{p.name}} {{/each}}", "0:Bo 1:Cy "),
    ("each object block params", "{{#each obj as |v k|}}{{k}}->{{v}} {{/each}}", "k->v j->2 "),
    (
        "nested each parent index",
        "{{#each people}}{{#each ../xs}}{{@../index}}{{@index}} {{/each}}{{/each}}",
        "00 01 02 10 11 12 ",
    ),
    (
        "nested each parent item",
        "{{#each people}}{{#each ../xs}}{{../name}}{{this}} {{/each}}{{/each}}",
        "Boa Bob Boc Cya Cyb Cyc ",
    ),
    (
        "nested block params",
        "{{#each xs as |x|}}{{#each ../people as |p|}}{{x}}{{p.name}} {{/each}}{{/each}}",
        "aBo aCy bBo bCy cBo cCy ",
    ),
    ("lookup by index", "{{#each people}}{{lookup ../xs @index}}{{/each}}", "ab"),
    # with
    ("with", "{{#with contact}}{{firstName}} of {{city}}{{/with}}", "Anaya of Bengaluru"),
    ("with parent", "{{#with contact}}{{../name}}{{/with}}", "Ann"),
    ("with block param", "{{#with contact as |c|}}{{c.lastName}}{{/with}}", "Iyengar"),
    ("with missing else", "{{#with missing}}x{{else}}no contact{{/with}}", "no contact"),
    ("with zero", "{{#with zero}}[{{this}}]{{/with}}", "[0]"),
    ("with then if keeps context",
     "{{#with contact}}{{#if city}}{{../name}}{{/if}}{{/with}}", "Ann"),
    # Mustache sections
    ("section object", "{{#contact}}{{firstName}}{{/contact}}", "Anaya"),
    ("section list", "{{#xs}}<{{this}}>{{/xs}}", "<a><b><c>"),
    ("section true", "{{#yes}}T{{/yes}}", "T"),
    ("section false else", "{{#no}}T{{else}}F{{/no}}", "F"),
    ("section zero renders", "{{#zero}}[{{this}}]{{/zero}}", "[0]"),
    ("section missing", "{{#missing}}x{{/missing}}.", "."),
    ("inverted section", "{{^no}}not no{{/no}}{{^xs}}hidden{{/xs}}", "not no"),
    ("inverted if", "{{^if no}}inverted{{/if}}", "inverted"),
    # lookup / log
    ("lookup", "{{lookup obj 'k'}}", "v"),
    ("lookup dynamic key", "{{lookup obj key}}", "v"),
    ("lookup index", "{{lookup xs 2}}", "c"),
    ("lookup missing is empty", "[{{lookup obj 'nope'}}]", "[]"),
    ("lookup subexpression", "{{#with (lookup meta 'deep')}}{{er.est}}{{/with}}", "bottom"),
    ("log writes nothing", "{{log 'debug' name}}ok", "ok"),
    # Comments
    ("comment", "a{{! a comment }}b", "ab"),
    ("long comment", "a{{!-- has }} and {{name}} --}}b", "ab"),
    ("empty long comment", "a{{!--}}b", "ab"),
    # Escaped mustaches
    ("escaped mustache", "\\{{name}} is {{name}}", "{{name}} is Ann"),
    ("escaped backslash", "\\\\{{name}}", "\\Ann"),
    ("escaped runs to next tag", "a\\{{x}} \\{{#y}} b{{name}}", "a{{x}} {{#y}} bAnn"),
    # Whitespace control
    ("tilde both", "a  {{~name~}}  b", "aAnnb"),
    ("tilde newlines", "a\n\n  {{~name}}\n", "aAnn\n"),
    ("tilde on blocks", "x {{~#if yes~}} y {{~/if~}} z", "xyz"),
    ("tilde on else", "{{#if no}} a {{~else~}} b {{/if}}", "b "),
    ("tilde comment", "a {{~! c ~}} b", "ab"),
    # Standalone lines
    ("standalone block lines", "<ul>\n  {{#each xs}}\n  <li>{{this}}</li>\n  {{/each}}\n</ul>\n",
     "<ul>\n  <li>a</li>\n  <li>b</li>\n  <li>c</li>\n</ul>\n"),
    ("standalone else", "{{#if no}}\nyes\n{{else}}\nno\n{{/if}}\n", "no\n"),
    ("standalone else if", "{{#if no}}\n1\n{{else if yes}}\n2\n{{/if}}\n", "2\n"),
    ("standalone comment", "a\n  {{! note }}\nb", "a\nb"),
    ("standalone crlf", "{{#if yes}}\r\nX\r\n{{/if}}\r\n", "X\r\n"),
    ("not standalone with text", "a {{#if yes}}\nX\n{{/if}} b", "a \nX\n b"),
    ("mustache is never standalone", "a\n{{name}}\nb", "a\nAnn\nb"),
    # Inline partials (the SES developer guide's example)
    (
        "inline partial",
        '{{#*inline "fullName"}}{{firstName}}{{#if lastName}} {{lastName}}{{/if}}{{/inline}}'
        "<h1>Hello {{> fullName contact}}!</h1>",
        "<h1>Hello Anaya Iyengar!</h1>",
    ),
    (
        "inline partial in each",
        "{{#*inline 'row'}}<li>{{name}} ({{age}})</li>{{/inline}}"
        "{{#each people}}{{> row}}{{/each}}",
        "<li>Bo (30)</li><li>Cy (0)</li>",
    ),
    ("partial hash",
     "{{#*inline 'p'}}{{greeting}} {{name}}{{/inline}}{{> p greeting='Hi'}}", "Hi Ann"),
    ("partial quoted name", "{{#*inline 'a b'}}AB{{/inline}}{{> 'a b'}}", "AB"),
    # The caller's block params reach a partial's hash, context and dynamic name.
    ("block param in partial hash",
     "{{#*inline 'p'}}[{{k}}]{{/inline}}{{#each xs as |x|}}{{> p k=x}}{{/each}}", "[a][b][c]"),
    ("block param as partial context",
     "{{#*inline 'p'}}[{{this}}]{{/inline}}{{#each xs as |x|}}{{> p x}}{{/each}}", "[a][b][c]"),
    ("block param in dynamic partial",
     "{{#*inline 'v'}}V{{/inline}}{{#with obj as |c|}}{{> (lookup c 'k')}}{{/with}}", "V"),
    ("dynamic partial", "{{#*inline 'row'}}R{{/inline}}{{> (lookup . 'pname')}}", "R"),
    ("partial defined later", "{{> late}}{{#*inline 'late'}}L{{/inline}}", "L"),
    ("partial sees root and data",
     "{{#*inline 'p'}}{{@index}}-{{@root.n}}{{/inline}}{{#each xs}}{{> p}} {{/each}}",
     "0-3 1-3 2-3 "),
    ("standalone partial indents", "{{#*inline 'p'}}\nL1\nL2\n{{/inline}}\nA\n  {{> p}}\nB\n",
     "A\n  L1\n  L2\nB\n"),
    ("partial block fallback", "{{#> nowhere}}fallback {{name}}{{/nowhere}}", "fallback Ann"),
    ("partial block layout",
     "{{#*inline 'layout'}}<main>{{> @partial-block}}</main>{{/inline}}"
     "{{#> layout}}hi {{name}}{{/layout}}",
     "<main>hi Ann</main>"),
    # Placeholders SES fills in later
    ("open tracker",
     '<p>x</p>{{ses:openTracker}}<img src="a">', '<p>x</p>{{ses:openTracker}}<img src="a">'),
    ("open tracker spaced", "{{ ses:openTracker }}", "{{ses:openTracker}}"),
    ("open tracker in block", "{{#each xs}}{{ses:openTracker}}{{/each}}",
     "{{ses:openTracker}}{{ses:openTracker}}{{ses:openTracker}}"),
    ("unsubscribe url", "<a href=\"{{amazonSESUnsubscribeUrl}}\">u</a>",
     "<a href=\"{{amazonSESUnsubscribeUrl}}\">u</a>"),
    # Edge cases
    ("empty template", "", ""),
    ("only text", "plain", "plain"),
    ("empty block", "a{{#if yes}}{{/if}}b", "ab"),
    ("single open brace", "{ {name} }", "{ {name} }"),
    ("this of null item", "{{#each list_of_null}}[{{this}}]{{/each}}", ""),
]  # fmt: skip

# (id, template, expected) with escape_html=True: Handlebars' {{ }} escaping.
HTML_ESCAPED = "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; &#x27;x&#x27; &#x60;y&#x60; a&#x3D;b"
ESCAPED: list[tuple[str, str, str]] = [
    ("escaped", "{{html}}", HTML_ESCAPED),
    ("triple not escaped", "{{{html}}}", "<b>Tom & \"Jerry\"</b> 'x' `y` a=b"),
    ("ampersand not escaped", "{{&html}}", "<b>Tom & \"Jerry\"</b> 'x' `y` a=b"),
    ("template text untouched", "<p class=\"a\">{{name}} & co</p>", "<p class=\"a\">Ann & co</p>"),
    ("lookup escaped", "{{lookup . 'html'}}", HTML_ESCAPED),
    ("list escaped", "{{xs}}", "a,b,c"),
    ("placeholder unescaped", "{{ses:openTracker}}", "{{ses:openTracker}}"),
    ("unicode not escaped", "{{uni}}", "Grüße 👋 日本"),
]  # fmt: skip

# (id, template, data, attribute): SES fails the message with its own message.
MISSING: list[tuple[str, str, dict[str, Any], str]] = [
    ("top level", "Hi {{name}}", {}, "name"),
    ("null is missing", "Hi {{name}}", {"name": None}, "name"),
    ("nested leaf", "{{contact.firstName}}", {"contact": {}}, "contact.firstName"),
    ("nested parent", "{{contact.firstName}}", {}, "contact.firstName"),
    ("through a string", "{{name.first}}", {"name": "Ann"}, "name.first"),
    ("triple stash", "{{{body}}}", {}, "body"),
    ("in each item", "{{#each people}}{{name}}{{/each}}", {"people": [{"name": "A"}, {}]}, "name"),
    ("outer name in each", "{{#each xs}}{{title}}{{/each}}", {"xs": [1], "title": "t"}, "title"),
    ("parent path", "{{#each xs}}{{../nope}}{{/each}}", {"xs": [1]}, "../nope"),
    ("inside taken branch", "{{#if a}}{{b}}{{/if}}", {"a": 1}, "b"),
    ("inside with", "{{#with c}}{{zip}}{{/with}}", {"c": {"city": "x"}}, "zip"),
    ("root path", "{{@root.x}}", {}, "@root.x"),
    ("data outside each", "{{@index}}", {}, "@index"),
    ("out of range index", "{{xs.[5]}}", {"xs": [1]}, "xs.5"),
    ("literal segment", "{{[first name]}}", {}, "first name"),
    ("in partial", "{{#*inline 'p'}}{{x}}{{/inline}}{{> p}}", {}, "x"),
    ("unknown helper", "{{upper name}}", {"name": "a"}, "upper"),
    ("unknown block helper", "{{#IF firstName}}Hey{{/IF}}", {"firstName": "A"}, "IF"),
    ("unknown subexpression helper", "{{#if (eq a b)}}x{{/if}}", {"a": 1, "b": 1}, "eq"),
    ("helper name even if in data", "{{upper name}}", {"upper": "U", "name": "a"}, "upper"),
    ("first missing wins", "{{a}}{{b}}", {}, "a"),
]

# (id, template, data): a missing value is not an error here.
NOT_MISSING: list[tuple[str, str, dict[str, Any], str]] = [
    ("if", "{{#if x}}y{{/if}}.", {}, "."),
    ("if nested", "{{#if a.b.c}}y{{/if}}.", {}, "."),
    ("unless", "{{#unless x}}u{{/unless}}", {}, "u"),
    ("each", "{{#each x}}y{{/each}}.", {}, "."),
    ("with", "{{#with x}}y{{/with}}.", {}, "."),
    ("section", "{{#x}}y{{/x}}.", {}, "."),
    ("lookup", "[{{lookup . 'x'}}]", {}, "[]"),
    ("this null", "{{#each xs}}[{{this}}]{{/each}}", {"xs": [None, 1]}, "[][1]"),
    ("branch not taken", "{{#if a}}{{missing}}{{/if}}.", {}, "."),
    ("placeholder", "{{amazonSESUnsubscribeUrl}}", {}, "{{amazonSESUnsubscribeUrl}}"),
    (
        "placeholder ignores data",
        "{{ses:openTracker}}",
        {"ses:openTracker": "x"},
        "{{ses:openTracker}}",
    ),
]

# (id, template, line, column, words in the problem): caught at compile time.
SYNTAX: list[tuple[str, str, int, int, str]] = [
    ("unclosed block", "{{#if a}}x", 1, 1, "'{{#if a}}' is never closed"),
    ("unclosed inner block", "{{#each xs}}\n  {{#if a}}\n{{/each}}", 3, 1,
     "'{{/each}}' does not close '{{#if a}}', opened at line 2, column 3"),
    ("stray close", "x{{/if}}", 1, 2, "'{{/if}}' closes no open block"),
    ("mismatched close", "{{#if a}}{{/each}}", 1, 10, "does not close '{{#if a}}'"),
    ("stray else", "a {{else}} b", 1, 3, "'{{else}}' is outside any block"),
    ("second else", "{{#if a}}{{else}}{{else}}{{/if}}", 1, 18, "comes after the final '{{else}}'"),
    ("else if after else", "{{#if a}}{{else}}{{else if b}}{{/if}}", 1, 18, "comes after the final"),
    ("else in inline partial", "{{#*inline 'p'}}{{else}}{{/inline}}", 1, 17,
     "cannot be used inside"),
    ("unclosed tag", "Hi {{name", 1, 4, "'{{name' is never closed with '}}'"),
    ("unclosed tag multiline", "a\nb {{#if x}}\n{{y", 3, 1, "is never closed"),
    ("unclosed triple", "{{{name}}", 1, 1, "must end with '}}}'"),
    ("extra brace", "{{name}}}", 1, 1, "'}}}' ends only a '{{{' tag"),
    ("extra brace triple", "{{{name}}}}", 1, 1, "write '}}} }'"),
    ("unclosed comment", "{{! note", 1, 1, "comment '{{!' is never closed"),
    ("unclosed long comment", "{{!-- note }}", 1, 1, "comment '{{!--' is never closed with '--}}'"),
    ("empty tag", "{{}}", 1, 1, "a tag needs a name"),
    ("bad character", "{{na!me}}", 1, 5, "unexpected '!'"),
    ("space before sigil", "{{ #if a}}{{/if}}", 1, 4, "unexpected '#'"),
    ("invalid path", "{{a/../b}}", 1, 5, "invalid path 'a/..'"),
    ("trailing separator", "{{a.}}x{{b/}}", 1, 11, "invalid path 'b/'"),
    ("unclosed string", "{{lookup a 'b}}", 1, 12, "string in"),
    ("unclosed bracket", "{{[a}}", 1, 3, "'[' in"),
    ("unclosed subexpression", "{{#if (lookup a 'b'}}{{/if}}", 1, 7, "'(' is never closed"),
    ("hash then param", "{{#if a x=1 b}}{{/if}}", 1, 13, "unexpected 'b'"),
    ("block params on mustache", "{{name as |x|}}", 1, 8, "unexpected 'as |'"),
    ("empty block params", "{{#each xs as ||}}{{/each}}", 1, 16, "block parameters must look like"),
    ("if without argument", "{{#if}}x{{/if}}", 1, 1, "#if needs exactly one argument"),
    ("if two arguments", "{{#if a b}}x{{/if}}", 1, 1, "#if needs exactly one argument"),
    ("each without argument", "{{#each}}x{{/each}}", 1, 1, "#each needs exactly one argument"),
    ("with two arguments", "{{#with a b}}x{{/with}}", 1, 1, "#with needs exactly one argument"),
    ("else if without argument", "{{#if a}}{{else if}}{{/if}}", 1, 10,
     "#if needs exactly one argument"),
    ("if not as block", "{{if a}}", 1, 1, "'if' is a block helper, write '{{#if …}}…{{/if}}'"),
    ("each not as block", "{{each xs}}", 1, 1, "'each' is a block helper"),
    ("lookup arity", "{{lookup a}}", 1, 1, "lookup needs two arguments"),
    ("lookup as block", "{{#lookup a 'b'}}{{/lookup}}", 1, 1, "lookup cannot open a block"),
    ("raw block", "{{{{raw}}}}x{{{{/raw}}}}", 1, 1, "raw blocks"),
    ("decorator", "{{*decorator}}", 1, 1, "decorators ('{{*') are not supported"),
    ("other decorator block", "{{#*fancy}}{{/fancy}}", 1, 1, "the only decorator block is"),
    ("inline partial without name", "{{#*inline}}{{/inline}}", 1, 1, "needs a quoted name"),
    ("two partial contexts", "{{> p a b}}", 1, 1, "at most one context argument"),
    ("partial without name", "{{> }}", 1, 1, "a tag needs a name"),
]  # fmt: skip

TEMPLATE_DATA_ERRORS: list[tuple[str, str, str]] = [
    ("array", "[1, 2]", "TemplateData must be a JSON object, not an array."),
    ("string", '"hello"', "TemplateData must be a JSON object, not a string."),
    ("number", "42", "TemplateData must be a JSON object, not a number."),
    ("boolean", "true", "TemplateData must be a JSON object, not a boolean."),
    ("null", "null", "TemplateData must be a JSON object, not null."),
    ("empty", "", "TemplateData is not valid JSON: Expecting value at line 1, column 1."),
    ("not json", "{name: 1}", "TemplateData is not valid JSON: Expecting property name "
     "enclosed in double quotes at line 1, column 2."),
    ("trailing garbage", '{"a": 1} x', "TemplateData is not valid JSON: Extra data at line 1, "
     "column 10."),
    ("NaN", '{"a": NaN}', "TemplateData is not valid JSON: NaN is not a JSON value."),
    ("Infinity", '{"a": Infinity}',
     "TemplateData is not valid JSON: Infinity is not a JSON value."),
    ("deep", "[" * 100_000 + "]" * 100_000, "TemplateData is nested too deeply."),
]  # fmt: skip


def _render(template: str, data: dict[str, Any] | None = None, *, escape: bool = False) -> str:
    return render(template, DATA if data is None else data, escape_html=escape)


@pytest.mark.parametrize(
    ("template", "expected"), [c[1:] for c in RENDERED], ids=[c[0] for c in RENDERED]
)
def test_renders_like_handlebars(template: str, expected: str) -> None:
    assert _render(template) == expected


@pytest.mark.parametrize(
    ("template", "expected"), [c[1:] for c in ESCAPED], ids=[c[0] for c in ESCAPED]
)
def test_escape_html(template: str, expected: str) -> None:
    assert _render(template, escape=True) == expected


@pytest.mark.parametrize(
    ("template", "data", "attribute"), [c[1:] for c in MISSING], ids=[c[0] for c in MISSING]
)
def test_missing_attribute_fails_with_ses_message(
    template: str, data: dict[str, Any], attribute: str
) -> None:
    with pytest.raises(MissingAttributeError) as caught:
        render(template, data, escape_html=False)
    assert caught.value.attribute == attribute
    assert caught.value.message == f"Attribute '{attribute}' is not present in the rendering data."
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize(
    ("template", "data", "expected"),
    [c[1:] for c in NOT_MISSING],
    ids=[c[0] for c in NOT_MISSING],
)
def test_missing_value_is_falsy_in_conditions(
    template: str, data: dict[str, Any], expected: str
) -> None:
    assert render(template, data, escape_html=False) == expected


@pytest.mark.parametrize(
    ("template", "line", "column", "problem"), [c[1:] for c in SYNTAX], ids=[c[0] for c in SYNTAX]
)
def test_syntax_errors(template: str, line: int, column: int, problem: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        _render(template)
    error = caught.value
    assert problem in error.problem
    assert (error.line, error.column) == (line, column)
    assert error.message == f"Line {line}, column {column}: {error.problem}"
    # The same error at CreateEmailTemplate time, named by part.
    with pytest.raises(TemplateSyntaxError) as checked:
        check_template("ok", None, template)
    assert checked.value.part == "Html"
    assert checked.value.message == f"Html part, line {line}, column {column}: {error.problem}"


def test_nesting_limit() -> None:
    limit = parser.MAX_NESTING
    ok = "{{#if a}}" * limit + "x" + "{{/if}}" * limit
    assert _render(ok, {"a": 1}) == "x"
    with pytest.raises(TemplateSyntaxError, match="nested more than"):
        _render("{{#if a}}" * (limit + 1) + "{{/if}}" * (limit + 1), {"a": 1})
    with pytest.raises(TemplateSyntaxError, match="nested more than"):
        _render("{{#if a}}" + "{{else if b}}" * limit + "{{/if}}", {})


@pytest.mark.parametrize(
    ("data_json", "message"),
    [c[1:] for c in TEMPLATE_DATA_ERRORS],
    ids=[c[0] for c in TEMPLATE_DATA_ERRORS],
)
def test_template_data_must_be_a_json_object(data_json: str, message: str) -> None:
    with pytest.raises(TemplateDataError) as caught:
        parse_template_data(data_json)
    assert caught.value.message == message
    with pytest.raises(TemplateDataError):
        render_template("s", "t", "h", data_json)


def test_parse_template_data() -> None:
    assert parse_template_data('{"a": [1, {"b": null}], "c": 1.5}') == {
        "a": [1, {"b": None}],
        "c": 1.5,
    }
    assert parse_template_data("{}") == {}


def test_render_template_no_part_is_escaped() -> None:
    # SES: "SES doesn't escape HTML content when rendering the HTML template".
    data = json.dumps({"name": "Tom & <Jerry>", "items": ["<a>", "b&c"]})
    subject, text, html = render_template(
        "Hi {{name}}",
        "Dear {{name}},\n{{#each items}}- {{this}}\n{{/each}}",
        "<p>{{name}}</p><ul>{{#each items}}<li>{{{this}}}</li>{{/each}}</ul>{{ses:openTracker}}",
        data,
    )
    assert subject == "Hi Tom & <Jerry>"
    assert text == "Dear Tom & <Jerry>,\n- <a>\n- b&c\n"
    assert html == "<p>Tom & <Jerry></p><ul><li><a></li><li>b&c</li></ul>{{ses:openTracker}}"


def test_render_template_parts_may_be_absent() -> None:
    assert render_template("S {{a}}", None, None, '{"a": 1}') == ("S 1", None, None)
    assert render_template(None, None, "<b>{{a}}</b>", '{"a": 1}') == (None, None, "<b>1</b>")
    assert render_template(None, None, None, "{}") == (None, None, None)


def test_render_template_missing_attribute_in_any_part() -> None:
    with pytest.raises(MissingAttributeError) as caught:
        render_template("Hi {{name}}", "{{name}} {{favoriteanimal}}", None, '{"name": "John"}')
    assert caught.value.message == (
        "Attribute 'favoriteanimal' is not present in the rendering data."
    )


def test_render_template_reports_syntax_before_data() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        render_template("{{#if a}}", None, None, "not json")
    assert caught.value.message == "Subject part, line 1, column 1: '{{#if a}}' is never closed"
    assert caught.value.part == "Subject"


def test_ses_documentation_examples() -> None:
    # developer guide, "Advanced email personalization".
    data = {
        "meta": {"userId": "51806220607"},
        "contact": {"firstName": "Anaya", "lastName": "Iyengar", "city": "Bengaluru"},
        "subscription": [{"interest": "Sports"}, {"interest": "Travel"}, {"interest": "Cooking"}],
    }
    html = (
        "<h1>Hello {{contact.firstName}}!</h1><ul>{{#each subscription}}<li>{{interest}}</li>"
        "{{/each}}</ul>{{#if contact.city}}<p>{{contact.city}}</p>{{else}}<p>-</p>{{/if}}"
    )
    assert render(html, data, escape_html=False) == (
        "<h1>Hello Anaya!</h1><ul><li>Sports</li><li>Travel</li><li>Cooking</li></ul>"
        "<p>Bengaluru</p>"
    )
    # moto's test verified against AWS (test_render_template__advanced).
    items = {"items": [{"type": "dog", "name": "bobby", "best": True},
                       {"type": "cat", "name": "pedro", "best": False}]}  # fmt: skip
    template = (
        "{{#each items}} {{name}} is {{#if best}}the best{{else}}a {{type}}{{/if}}, {{/each}}"
    )
    assert render(template, items, escape_html=False) == (" bobby is the best,  pedro is a cat, ")


def test_check_template_accepts_valid_parts() -> None:
    check_template("Hi {{name}}", "{{#each xs}}{{this}}{{/each}}", "{{> nowhere}}{{#IF a}}{{/IF}}")
    check_template(None, None, None)


def test_check_template_names_the_part() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        check_template("fine", "line one\n  {{#each xs}}", "fine")
    assert caught.value.message == "Text part, line 2, column 3: '{{#each xs}}' is never closed"


def test_partial_not_found_at_render_time() -> None:
    with pytest.raises(RenderingError) as caught:
        _render("{{#if no}}{{> ghost}}{{/if}}ok{{> ghost}}")
    assert caught.value.message == "The partial ghost could not be found."
    assert not isinstance(caught.value, (MissingAttributeError, TemplateSyntaxError))
    with pytest.raises(RenderingError, match="The partial @partial-block could not be found"):
        _render("{{> @partial-block}}")


@pytest.mark.parametrize(
    "template",
    [
        "{{obj.__class__}}",
        "{{name.__class__.__name__}}",
        "{{name.upper}}",
        "{{xs.append}}",
        "{{obj.keys}}",
        "{{lookup name '__len__'}}x{{name.__len__}}",
        "{{xs.[-1]}}",
        "{{xs.[01]}}",
    ],
)
def test_no_python_attribute_access(template: str) -> None:
    with pytest.raises(MissingAttributeError):
        _render(template)


def test_only_mappings_and_sequences_are_looked_into() -> None:
    class Secret:
        token = "s3cr3t"

        def __getitem__(self, key: str) -> str:
            return "leaked"

    data: dict[str, Any] = {"s": Secret()}
    with pytest.raises(MissingAttributeError):
        render("{{s.token}}", data, escape_html=False)
    assert render("{{#with s}}{{#if token}}leak{{/if}}{{/with}}.", data, escape_html=False) == "."


def test_recursive_partial_is_stopped() -> None:
    with pytest.raises(RenderingError, match="nested more than 200 deep"):
        _render("{{#*inline 'p'}}x{{> p}}{{/inline}}{{> p}}")


def test_recursive_tree_partial() -> None:
    tree = {"name": "root", "kids": [{"name": "a", "kids": [{"name": "b", "kids": []}]}]}
    template = "{{#*inline 'node'}}{{name}}({{#each kids}}{{> node}}{{/each}}){{/inline}}{{> node}}"
    assert render(template, tree, escape_html=False) == "root(a(b()))"


def test_step_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "MAX_STEPS", 12)  # 3 outer + 9 inner iterations
    assert _render("{{#each xs}}{{#each ../xs}}.{{/each}}{{/each}}") == "." * 9
    with pytest.raises(RenderingError, match="more than 12 loop iterations"):
        _render("{{#each xs}}{{#each ../xs}}{{#each ../../xs}}.{{/each}}{{/each}}{{/each}}")


def test_output_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "MAX_OUTPUT", 100)
    assert len(_render("{{#each xs}}" + "x" * 30 + "{{/each}}")) == 90
    with pytest.raises(RenderingError, match="longer than 100 characters"):
        _render("{{#each xs}}{{../html}}{{../html}}{{/each}}")
    with pytest.raises(RenderingError, match="longer than 100 characters"):
        _render("{{#each people}}" + "y" * 60 + "{{/each}}")


def test_deep_data_is_a_rendering_error() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(RenderingError, match="nested too deeply"):
        render("{{d}}", {"d": deep}, escape_html=False)


def test_templates_are_compiled_once() -> None:
    template = "cached {{name}} {{#each xs}}{{this}}{{/each}}"
    first = render_module._compile(template)
    assert render_module._compile(template) is first
    assert _render(template) == _render(template) == "cached Ann abc"


def test_data_is_not_modified() -> None:
    data = {"a": {"b": [1, 2]}, "c": "x"}
    before = json.dumps(data)
    render("{{#each a.b}}{{> p k=1}}{{/each}}{{#*inline 'p'}}{{k}}{{/inline}}", data,
           escape_html=True)  # fmt: skip
    assert json.dumps(data) == before
