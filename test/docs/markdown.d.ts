// Markdown imported as text by the docs tests (Vite's `?raw`).
declare module '*.md?raw' {
  const text: string;
  export default text;
}
