// Builds the viewer bundle into src/autoscribe/web/static/viewer/ (committed, so `make run` needs no npm).
//   node build.mjs            write viewer.js + viewer.css
//   node build.mjs --check    rebuild in memory and fail if the committed files differ
//   node build.mjs --outdir D write somewhere else
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes("--check");
const outIndex = args.indexOf("--outdir");
const outdir = outIndex >= 0 ? path.resolve(args[outIndex + 1]) : path.resolve(here, "../../src/autoscribe/web/static/viewer");
const pkg = JSON.parse(readFileSync(path.join(here, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(path.join(here, "package-lock.json"), "utf8"));
const parserVersion = lock.packages["node_modules/dicom-parser"].version;
const banner = `/* AutoScribe viewer ${pkg.version} (dicom-parser ${parserVersion}). Built from frontend/viewer by \`make viewer\`; do not edit. */`;

const common = {
  bundle: true,
  minify: true,
  write: false,
  legalComments: "eof",
  target: ["es2020"],
  platform: "browser",
  logLevel: "warning",
  banner: { js: banner, css: banner },
};

const results = await Promise.all([
  build({
    ...common,
    entryPoints: [path.join(here, "src/index.js")],
    format: "iife",
    globalName: "AutoScribeViewer",
    outfile: path.join(outdir, "viewer.js"),
  }),
  build({ ...common, entryPoints: [path.join(here, "src/viewer.css")], outfile: path.join(outdir, "viewer.css") }),
]);

let stale = [];
for (const result of results) {
  for (const file of result.outputFiles) {
    if (check) {
      let current = null;
      try {
        current = readFileSync(file.path);
      } catch {
        current = null;
      }
      if (!current || Buffer.compare(current, Buffer.from(file.contents)) !== 0) stale.push(path.relative(process.cwd(), file.path));
    } else {
      await mkdir(path.dirname(file.path), { recursive: true });
      await writeFile(file.path, file.contents);
      console.log(`wrote ${path.relative(process.cwd(), file.path)} (${file.contents.length} bytes)`);
    }
  }
}
if (stale.length) {
  console.error(`The committed viewer bundle is stale: ${stale.join(", ")}. Run \`make viewer\` and commit the result.`);
  process.exit(1);
}
if (check) console.log("viewer bundle matches its sources");
