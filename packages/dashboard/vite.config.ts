// Vite settings for ringkv's dashboard. Built files are served by every node under
// /dashboard/; the dev server on port 3000 forwards API paths to one node.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const apiTarget = process.env.RINGKV_API ?? 'http://127.0.0.1:8000';
const apiPaths = ['/store', '/keys', '/status', '/node-info', '/cluster', '/jobs', '/repair', '/auth', '/metrics', '/health'];

export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // recharts is most of the bundle; one chunk keeps the page a single fetch.
    chunkSizeWarningLimit: 1_000,
  },
  server: {
    port: 3000,
    strictPort: true,
    proxy: Object.fromEntries(apiPaths.map((path) => [path, { target: apiTarget }])),
  },
});
