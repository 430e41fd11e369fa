// The dashboard's build: a static app in dist/ that `convoywatch serve` serves at / under a
// strict Content-Security-Policy (no inline script or style), so nothing is inlined: the module
// preload polyfill is off and every asset is a file. MapLibre is its own chunk, loaded by the map.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
