// The browser script: progressive enhancement over server-rendered pages.
export {};
