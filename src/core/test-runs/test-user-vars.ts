// The template variables a test user stands in with. Test users are not contacts: they have a
// name and a phone, nothing else, so only first_name and the campaign's brand can be real; the
// rest render blank rather than leaking a made-up city or store into what a tester sees.
import type { TemplateVars } from '../templates/index.js';

export function testUserVars(user: { name: string }, brand: string): TemplateVars {
  const firstName = user.name.trim().split(/\s+/)[0] ?? '';
  return { first_name: firstName, brand, city: '', source: '', store_id: '' };
}
