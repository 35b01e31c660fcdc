// Resolves a relative `./x.js` import to `./x.ts` when only the TypeScript file exists: the SDK's sources use
// `.js` specifiers (TypeScript's node16 resolution), which Node's TypeScript support does not rewrite.
import { existsSync } from "node:fs";
import { registerHooks } from "node:module";
import { URL, fileURLToPath } from "node:url";

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith(".") && specifier.endsWith(".js") && context.parentURL?.startsWith("file:")) {
      const url = new URL(specifier, context.parentURL);
      const ts = new URL(`${url.href.slice(0, -3)}.ts`);
      if (!existsSync(fileURLToPath(url)) && existsSync(fileURLToPath(ts))) return nextResolve(ts.href, context);
    }
    return nextResolve(specifier, context);
  },
});
