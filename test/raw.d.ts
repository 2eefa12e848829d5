// Files imported as text by tests (Vite's `?raw`), such as wrangler.toml.
declare module '*?raw' {
  const text: string;
  export default text;
}
