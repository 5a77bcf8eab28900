/** The few HTML pages of the service (end of session, error page); text is fixed, never from the request. */
const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function page(title: string, text: string, code?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;line-height:1.5}code{color:#555}</style>
</head><body><h1>${escape(title)}</h1><p>${escape(text)}</p>${code === undefined ? '' : `<p><code>${escape(code)}</code></p>`}</body></html>
`;
}
