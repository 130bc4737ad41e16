const fs = require("fs");
const { execFileSync } = require("child_process");
const { store, input, lines, file } = require("./common");

const key = input("key");
if (!store) {
  console.log("no ACT_CACHE: nothing saved");
} else if (process.env.STATE_EXACT === "true" || fs.existsSync(file(key))) {
  console.log(`Cache hit on ${key}: not saving`);
} else {
  const workspace = process.env.GITHUB_WORKSPACE || ".";
  const paths = lines(input("path")).filter((p) => fs.existsSync(require("path").join(workspace, p)));
  if (paths.length) {
    fs.mkdirSync(store, { recursive: true });
    const tmp = file(key) + ".tmp";
    execFileSync("tar", ["-cf", tmp, "-C", workspace, ...paths]);
    fs.renameSync(tmp, file(key));
    console.log(`Cache saved with key: ${key}`);
  } else {
    console.log("nothing to save");
  }
}
