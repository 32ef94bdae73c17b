// app.js - the console's shell: sign in and out, the session, the page router.
import { session, get, h, route, errorBox, setCurrency } from './util.js';
import { pages as basePages } from './pages.js';
import { capacityPage } from './capacity.js';
import { territoryPage } from './territory.js';
import { alertsPage } from './alerts.js';
import { importPage } from './import.js';
import { leadsPage } from './leads.js';
import { repsPage } from './reps.js';
import { hygienePage } from './hygiene.js';
import { assessPage } from './assess.js';

// The pages of the nav (index.html); the planning and import pages live in their own files.
const pages = { ...basePages,
  capacity: { title: 'Capacity', render: capacityPage },
  territories: { title: 'Territories', render: territoryPage },
  alerts: { title: 'Alerts', render: alertsPage },
  import: { title: 'Import', render: importPage },
  leads: { title: 'Leads', render: leadsPage },
  reps: { title: 'Reps', render: repsPage },
  hygiene: { title: 'Hygiene', render: hygienePage },
  assess: { title: 'Assessments', render: assessPage } };

const $ = (id) => document.getElementById(id);

function showSignin(message) {
  $('nav').hidden = true;
  $('who').hidden = true;
  $('page').replaceChildren();
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('key').value = '';
  $('key').focus();
}

function signOut(message) {
  session.clear();
  session.info = null;
  showSignin(message);
}

async function start() {
  if (!session.key()) { showSignin(); return; }
  try {
    session.info = await get('/v1/session');
  } catch (e) {
    signOut(e.status === 401 ? 'That key is not valid (revoked or mistyped).' : e.message);
    return;
  }
  setCurrency(session.info.workspace.currency);
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  $('who-ws').textContent = session.info.workspace.name;
  $('who-role').textContent = `${session.info.role} key`;
  render();
}

let generation = 0;
async function render() {
  if (!session.info) return;
  const r = route();
  const page = pages[r.page] ? r.page : 'forecast';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const mine = ++generation;
  const root = h('div', { 'data-page': page });
  $('page').replaceChildren(root);
  document.title = `${pages[page].title} · revopsd`;
  try {
    await pages[page].render(root, r.params, () => mine === generation);
  } catch (e) {
    if (mine === generation) root.append(errorBox(e));
  }
  if (mine === generation) root.setAttribute('data-ready', 'true');
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = $('key').value.trim();
  $('key').value = '';
  if (!key) return;
  session.set(key);
  start();
});
$('signout').addEventListener('click', () => signOut('Signed out: the key is forgotten.'));
window.addEventListener('revops-unauthorized', () => signOut('The key was refused (revoked?): sign in again.'));
window.addEventListener('hashchange', render);
start();
