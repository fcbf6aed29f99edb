"""Wikipedia's side: day pages in, events out."""

# Bumped whenever the parsers read the same page differently; an archive whose events were
# derived by an older version is re-derived from its raw revisions (see newscontext.repair).
# 1: entities decoded only with their semicolon (`&region=` in URLs), characters XML forbids
#    removed, the old eras read as meant (topic lines, {{currency}}, Wikinews sources), and
#    only web addresses taken as sources from rendered HTML (never `javascript:`).
PARSER_VERSION = 1
