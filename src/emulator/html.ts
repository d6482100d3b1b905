/**
 * The HTML pages real servers answer: the default `f=html` pages, gateway errors, error pages.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function htmlPage(title: string, body: string): string {
  const t = escapeHtml(title);
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${t}</title></head>\n<body><h2>${t}</h2>\n${body}\n</body></html>\n`;
}

/** The token form a server shows when generateToken is asked without `f=json`. */
export function tokenFormPage(action: string): string {
  return htmlPage(
    'Generate Token',
    `<form method="post" action="${escapeHtml(action)}">
<label>Username: <input type="text" name="username"></label><br>
<label>Password: <input type="password" name="password"></label><br>
<label>Client: <select name="client"><option value="referer">Webapp URL</option><option value="ip">IP</option><option value="requestip">IP of this request</option></select></label><br>
<label>Webapp URL: <input type="text" name="referer"></label><br>
<label>IP: <input type="text" name="ip"></label><br>
<label>Expiration (minutes): <input type="text" name="expiration" value="60"></label><br>
<label>Format: <select name="f"><option value="html">HTML</option><option value="json">JSON</option><option value="pjson">pJSON</option></select></label><br>
<input type="submit" value="Generate Token">
</form>`,
  );
}

/** The services-directory page a resource answers without `f=json`. */
export function resourcePage(title: string, path: string): string {
  return htmlPage(
    title,
    `<p>ArcGIS REST Services Directory</p>\n<p><a href="${escapeHtml(path)}?f=pjson">JSON</a></p>`,
  );
}

/** A gateway (reverse proxy) error page, as nginx or a load balancer sends it. */
export function gatewayPage(status: number, reason: string): string {
  return `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** The error page of a web adaptor / servlet container. */
export function errorPage(): string {
  return htmlPage(
    'Error',
    '<p>An error occurred while processing the request. Please contact your administrator.</p>',
  );
}
