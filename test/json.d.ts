// JSON files imported by tests (Vite bundles them); their shape is checked where used.
declare module '*.json' {
  const value: unknown;
  export default value;
}

// A file's text (Vite's ?raw suffix), e.g. the committed generated client.
declare module '*?raw' {
  const text: string;
  export default text;
}
