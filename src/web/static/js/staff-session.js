// The staff pages' session (/krk/staff, /reports/staff): the sign-in form shown when nobody is
// signed in, signing in with a cookie session (POST /api/v1/session) and out. Both pages have the
// same elements: #staff-loading, #staff-section, #signin-section, #signin-form, #signin-name,
// #signin-password, #signin-submit, #signin-error and #signout.

import { h, message } from './krk-status.js';

const $ = (id) => document.getElementById(id);

/** Shows the sign-in form (nobody signed in, or the session ended), with a note if given. */
export function showSignIn(note) {
  $('staff-loading').hidden = true;
  $('staff-section').hidden = true;
  $('signin-section').hidden = false;
  $('signin-error').replaceChildren(note ? message('warn', h('p', { text: note })) : '');
  $('signin-name').focus();
}

/** Shows the staff's section. */
export function showStaff() {
  $('staff-loading').hidden = true;
  $('signin-section').hidden = true;
  $('staff-section').hidden = false;
}

/** Wires the form and the sign-out button: `signedIn` runs after a sign-in, `signedOut` after a
 *  sign-out (before the form shows again). */
export function wireSession(signedIn, signedOut = () => {}) {
  $('signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = $('signin-name').value.trim();
    const password = $('signin-password').value;
    if (!name || !password) {
      $('signin-error').replaceChildren(message('error', h('p', { text: 'Isi nama akun dan kata sandi.' })));
      return;
    }
    $('signin-submit').disabled = true;
    try {
      const res = await fetch('/api/v1/session', {
        method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ name, password }),
      });
      if (!res.ok) {
        const answer = await res.json().catch(() => null);
        throw new Error(res.status === 401 ? 'Nama akun atau kata sandi salah.' : (answer && (answer.detail || answer.title)) || `HTTP ${res.status}`);
      }
      $('signin-password').value = '';
      $('signin-error').replaceChildren();
      await signedIn();
    } catch (e) {
      $('signin-error').replaceChildren(message('error', h('p', { text: e.message })));
    } finally {
      $('signin-submit').disabled = false;
    }
  });
  $('signout').addEventListener('click', async () => {
    await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => {});
    signedOut();
    showSignIn();
  });
}
