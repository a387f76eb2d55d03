// Runs a TypeScript file as the guide wrote it: TypeScript's own transpiler strips the types
// (no type checking), then Node runs the result as CommonJS.
const fs = require('fs');
const path = require('path');
const Module = require('module');
const ts = require('typescript');

const file = path.resolve(process.argv[2]);
const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true },
  fileName: file,
});
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(path.dirname(file));
mod._compile(outputText, file);
