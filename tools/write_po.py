"""Writes a French catalogue from a Python dict of translations: `python tools/write_po.py
DICT_FILE web/locale/fr/AREA.po` (DICT_FILE defines FR = {msgid: msgstr, (singular, plural):
(singular, plural)}). A convenience for translators who prefer Python to .po syntax."""

import runpy
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po


def main(source: str, target: str) -> None:
    catalog = Catalog(locale="fr", project="fedi")
    for msgid, msgstr in runpy.run_path(source)["FR"].items():
        catalog.add(msgid, msgstr)
    with open(target, "wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, sort_output=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
