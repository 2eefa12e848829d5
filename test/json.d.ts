// JSON files imported by tests (Vite bundles them); their shape is checked where used.
declare module '*.json' {
  const value: unknown;
  export default value;
}
