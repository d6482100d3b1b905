/**
 * The portal's OAuth sign-in page and its error page.
 */
import { escapeHtml, htmlPage } from './html.js';

/** The OAuth parameters carried through the sign-in form. */
export const AUTHORIZE_FIELDS = [
  'client_id',
  'response_type',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'expiration',
] as const;

export function signInPage(action: string, fields: Record<string, string>, error?: string): string {
  const hidden = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('\n');
  const message = error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>\n`;
  return htmlPage(
    'Sign In',
    `${message}<form method="post" action="${escapeHtml(action)}">
${hidden}
<label>Username: <input type="text" name="username" autocomplete="username"></label><br>
<label>Password: <input type="password" name="password" autocomplete="current-password"></label><br>
<input type="submit" name="signin" value="Sign In">
<input type="submit" name="cancel" value="Cancel">
</form>`,
  );
}

export function oauthErrorPage(message: string): string {
  return htmlPage('OAuth Error', `<p class="error" role="alert">${escapeHtml(message)}</p>`);
}
