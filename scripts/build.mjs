// npm run build: dist/ (ES modules, the source of truth for types) and dist/cjs/ (CommonJS, for
// `require` where Node's require(esm) is unavailable: Jest's CommonJS mode, bundlers, old Node).
// Both hold every lib/**/*.lua at its relative path, since readLua() reads the scripts at runtime.
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'lib');
const esmOut = join(root, 'dist');
const cjsOut = join(esmOut, 'cjs');

function fail(message) {
  console.error(message);
  process.exit(1);
}

function reportDiagnostics(diagnostics) {
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length === 0) return;
  fail(
    ts.formatDiagnosticsWithColorAndContext(errors, {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => root,
      getNewLine: () => '\n',
    }),
  );
}

function filesUnder(dir, suffix) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * CommonJS has no import.meta: `import.meta.url`, `.filename` and `.dirname` become their
 * __filename/__dirname equivalents. Any other use is left alone and fails the check below.
 */
function rewriteImportMeta(context) {
  const { factory } = context;
  const replacements = {
    url: () =>
      factory.createPropertyAccessExpression(
        factory.createCallExpression(
          factory.createPropertyAccessExpression(
            factory.createCallExpression(factory.createIdentifier('require'), undefined, [
              factory.createStringLiteral('node:url'),
            ]),
            'pathToFileURL',
          ),
          undefined,
          [factory.createIdentifier('__filename')],
        ),
        'href',
      ),
    filename: () => factory.createIdentifier('__filename'),
    dirname: () => factory.createIdentifier('__dirname'),
  };
  const visit = (node) => {
    if (
      ts.isPropertyAccessExpression(node) &&
      ts.isMetaProperty(node.expression) &&
      node.expression.keywordToken === ts.SyntaxKind.ImportKeyword &&
      Object.hasOwn(replacements, node.name.text)
    ) {
      return replacements[node.name.text]();
    }
    return ts.visitEachChild(node, visit, context);
  };
  return (file) => ts.visitNode(file, visit);
}

rmSync(esmOut, { recursive: true, force: true });

// ES build: a full type-checked program, as `tsc -p tsconfig.build.json` would run it.
const config = ts.getParsedCommandLineOfConfigFile(
  join(root, 'tsconfig.build.json'),
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => reportDiagnostics([d]) },
);
reportDiagnostics(config.errors);
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
reportDiagnostics(ts.getPreEmitDiagnostics(program));
reportDiagnostics(program.emit().diagnostics);

// CommonJS build: the same files transpiled one by one (the tsconfig sets isolatedModules, so
// this is what a program would emit; the ES build has type-checked them), with the ES build's
// declarations under a package.json that marks the folder as CommonJS.
const sources = config.fileNames.filter((file) => !file.endsWith('.d.ts'));
for (const file of sources) {
  const output = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: {
      ...config.options,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      declaration: false,
      sourceMap: false,
    },
    fileName: file,
    reportDiagnostics: true,
    transformers: { before: [rewriteImportMeta] },
  });
  reportDiagnostics(output.diagnostics ?? []);
  const path = relative(source, file).replace(/\.ts$/, '');
  mkdirSync(dirname(join(cjsOut, path)), { recursive: true });
  writeFileSync(join(cjsOut, `${path}.js`), output.outputText);
  cpSync(join(esmOut, `${path}.d.ts`), join(cjsOut, `${path}.d.ts`));
}
writeFileSync(join(cjsOut, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

for (const lua of filesUnder(source, '.lua')) {
  for (const out of [esmOut, cjsOut]) cpSync(lua, join(out, relative(source, lua)));
}

const leftovers = filesUnder(cjsOut, '.js').filter((file) =>
  readFileSync(file, 'utf8').includes('import.meta'),
);
if (leftovers.length > 0) {
  fail(
    `import.meta is left in the CommonJS build (only .url, .filename and .dirname are rewritten):\n` +
      leftovers.map((file) => `  ${relative(root, file)}`).join('\n'),
  );
}

// Both entry points load (every readLua() finds its script) and export the same names.
const esmNames = Object.keys(await import(pathToFileURL(join(esmOut, 'index.js')).href)).sort();
const cjsNames = Object.keys(createRequire(import.meta.url)(join(cjsOut, 'index.js'))).sort();
if (JSON.stringify(esmNames) !== JSON.stringify(cjsNames)) {
  fail(
    `dist/index.js exports ${esmNames.join(', ')}\ndist/cjs/index.js exports ${cjsNames.join(', ')}`,
  );
}
