"""Writes the openpyxl files of the producer corpus: a normal workbook and
one in write-only mode. Run by ../make/main.go -tools with the output folder."""
import sys
from openpyxl import Workbook

out = sys.argv[1]
rows = [
    ("Connector", "Group"),
    ("sea-appproxy-01.contoso.com", "US West"),
    ("sea-appproxy-02.contoso.com", 'Ops "blue" team'),
    ("fra-appproxy-01.contoso.com", "EU - Zürich"),
    ("tyo-appproxy-01.contoso.com", "Asia, Tokyo"),
]

wb = Workbook()
ws = wb.active
ws.title = "Mapping"
for r in rows:
    ws.append(r)
wb.save(out + "/openpyxl.xlsx")

wb = Workbook(write_only=True)
ws = wb.create_sheet("Mapping")
for r in rows:
    ws.append(r)
wb.save(out + "/openpyxl-write-only.xlsx")
