// Writes the SheetJS files of the producer corpus: strings inline (the
// default) and shared (bookSST). Run by main.go -tools with the output
// folder; needs the xlsx package (npm install xlsx@0.18.5) on NODE_PATH.
const XLSX = require("xlsx");
const out = process.argv[2];
const rows = [
  ["Connector", "Group"],
  ["sea-appproxy-01.contoso.com", "US West"],
  ["sea-appproxy-02.contoso.com", 'Ops "blue" team'],
  ["fra-appproxy-01.contoso.com", "EU - Zürich"],
  ["tyo-appproxy-01.contoso.com", "Asia, Tokyo"],
];
for (const [name, opts] of [["sheetjs-inline-strings.xlsx", {}], ["sheetjs-shared-strings.xlsx", { bookSST: true }]]) {
  const wb = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(rows), "Mapping");
  XLSX.writeFile(wb, out + "/" + name, { compression: true, ...opts });
}
