// The dashboard's build: a static app in dist/ that `convoywatch serve` serves at / under a
// strict Content-Security-Policy (no inline script or style), so nothing is inlined: the module
// preload polyfill is off and every asset is a file. MapLibre is its own chunk (maplibre-*.js),
// loaded by the map screens.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    // MapLibre in a chunk of its own, so the budget (JavaScript excluding MapLibre) reads off.
    rollupOptions: {
      // Rollup's CommonJS helpers, used by the app's CommonJS dependencies and by MapLibre, in a
      // chunk of their own: in MapLibre's chunk they would make the app load MapLibre at start.
      output: {
        manualChunks: (id) =>
          id.includes('commonjsHelpers') ? 'cjs' : id.includes('/node_modules/maplibre-gl/') ? 'maplibre' : undefined,
      },
    },
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
