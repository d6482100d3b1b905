/**
 * The file part of a multipart/form-data upload (`addAttachment`), read from the body's bytes so
 * that binary files arrive intact.
 */
export interface UploadedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export function multipartFile(body: Buffer, contentType: string, field: string): UploadedFile | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
      const filename = /\bfilename="((?:[^"\\]|\\.)*)"/i.exec(disposition)?.[1];
      if (name === field && filename !== undefined) {
        let data = part.subarray(headerEnd + 4);
        if (data.length >= 2 && data[data.length - 2] === 13 && data[data.length - 1] === 10) {
          data = data.subarray(0, data.length - 2);
        }
        const type = /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim() || 'application/octet-stream';
        return {
          field: name,
          filename,
          contentType: type,
          data: Buffer.from(data),
        };
      }
    }
    at = next;
  }
  return undefined;
}
