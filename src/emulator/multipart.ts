/**
 * A minimal multipart/form-data reader for text fields (ArcGIS accepts form posts either way).
 * File parts are kept as their text; that is enough for the parameters the emulator reads.
 */
export function parseMultipart(body: string, contentType: string): URLSearchParams | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return undefined;
  const out = new URLSearchParams();
  for (const part of body.split(`--${boundary}`)) {
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) continue;
    const headers = part.slice(0, headerEnd);
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) continue;
    let value = part.slice(headerEnd + 4);
    if (value.endsWith('\r\n')) value = value.slice(0, -2);
    out.append(name, value);
  }
  return out;
}
