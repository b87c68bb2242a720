"""The Handlebars engine behind `sesame.mail.render`, one stage a module.

What is supported, the choices where SES says nothing precise, and the limits are
documented in `sesame.mail.render`, the public entry point; import from there. A
template goes through these stages, once per template text (the cache is there):

- `parser` (with `lexer` for a tag's tokens and `expressions` for its grammar):
  text → the parse tree of `nodes`;
- `whitespace`: Handlebars' whitespace control, in place on the tree;
- `compiler`: tree → closures, built from `runtime` (frame, output, limits) and
  `blocks` (the block helpers), which read data through `values`.

`errors` holds the exception classes every stage raises.
"""
