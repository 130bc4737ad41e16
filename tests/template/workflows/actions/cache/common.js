// Shared by main.js and post.js: where entries live and how a key becomes a file name.
const fs = require("fs");
const path = require("path");

const store = process.env.ACT_CACHE || "";
const input = (name) => (process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "").trim();
const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);
const file = (key) => path.join(store, encodeURIComponent(key) + ".tar");
const entries = () =>
  store && fs.existsSync(store)
    ? fs.readdirSync(store).filter((f) => f.endsWith(".tar")).map((f) => ({
        key: decodeURIComponent(f.slice(0, -4)),
        mtime: fs.statSync(path.join(store, f)).mtimeMs,
      }))
    : [];
module.exports = { store, input, lines, file, entries };
