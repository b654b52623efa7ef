// Sign in, and the first-sign-in password change.

import * as api from '../api.js';
import { h, icon, field, errorBanner, spinner } from '../ui.js';

/** The sign-in page (no layout around it). */
export function page({ notice, onSignedIn }) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, test: 'signin-username', autofocus: true, spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, test: 'signin-password' });
  const errors = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit', class: 'btn primary wide', test: 'signin-submit' }, 'Sign in');

  const form = h('form', { class: 'signin-form', test: 'signin-form' },
    notice && h('p', { class: 'banner banner-info', role: 'status', test: 'signin-notice' }, notice),
    errors,
    field('User name', username),
    field('Password', password),
    submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    submit.disabled = true;
    submit.prepend(spinner('Signing in'));
    try {
      await api.signIn(username.value.trim(), password.value);
      password.value = '';
      onSignedIn();
    } catch (e) {
      if (e.status === 401) e.message = 'Wrong user name or password.';
      if (e.status === 429) {
        e.message = `Too many failed sign-ins. Try again in ${e.retryAfter || 'a few'} seconds.`;
      }
      errors.replaceChildren(errorBanner(e));
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
      submit.querySelector('.spinner')?.remove();
    }
  });

  return h('div', { class: 'signin' },
    h('main', { class: 'signin-card' },
      h('div', { class: 'signin-brand' }, icon('lock'), h('span', null, 'Sovereign KMS')),
      h('h1', null, 'Sign in'),
      h('p', { class: 'subtitle' }, 'Key management for your sovereign cloud.'),
      form));
}

/** Change the password (the only page of a user who must change it). */
export function changePassword({ onChanged }) {
  const old = h('input', { type: 'password', autocomplete: 'current-password', required: true, test: 'password-old' });
  const next = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 12, test: 'password-new' });
  const again = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 12, test: 'password-confirm' });
  const errors = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit', class: 'btn primary', test: 'password-submit' }, 'Change password');

  const form = h('form', { class: 'narrow-form', novalidate: true },
    errors,
    field('Current (one-time) password', old),
    field('New password', next, 'At least 12 characters.'),
    field('New password again', again),
    submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    if (next.value.length < 12) {
      errors.replaceChildren(errorBanner({ message: 'The new password needs at least 12 characters.' }));
      return next.focus();
    }
    if (next.value !== again.value) {
      errors.replaceChildren(errorBanner({ message: 'The two new passwords differ.' }));
      return again.focus();
    }
    submit.disabled = true;
    try {
      await api.put('/v1/me/password', { old_password: old.value, new_password: next.value });
      onChanged();
    } catch (e) {
      errors.replaceChildren(errorBanner(e));
    } finally {
      submit.disabled = false;
    }
  });

  return h('div', null,
    h('div', { class: 'page-head' }, h('div', null,
      h('h1', { tabindex: '-1' }, 'Choose your password'),
      h('p', { class: 'subtitle' }, 'You signed in with a one-time password. Choose your own before you go on; afterwards you sign in again.'))),
    h('section', { class: 'card' }, form));
}
