const fs = require("fs");
const { execFileSync } = require("child_process");
const { store, input, lines, file, entries } = require("./common");

const key = input("key");
let hit = "", exact = false;
if (store) {
  if (fs.existsSync(file(key))) {
    hit = key; exact = true;
  } else {
    for (const prefix of lines(input("restore-keys"))) {
      const found = entries().filter((e) => e.key.startsWith(prefix)).sort((a, b) => b.mtime - a.mtime);
      if (found.length) { hit = found[0].key; break; }
    }
  }
}
if (hit) {
  execFileSync("tar", ["-xf", file(hit), "-C", process.env.GITHUB_WORKSPACE || "."]);
  console.log(`Cache restored from key: ${hit}`);
} else {
  console.log(`Cache not found for key: ${key}`);
}
fs.appendFileSync(process.env.GITHUB_OUTPUT, `cache-hit=${exact}\n`);
fs.appendFileSync(process.env.GITHUB_STATE, `EXACT=${exact}\n`);
