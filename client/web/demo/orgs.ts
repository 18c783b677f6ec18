// Organizations: the list with a switch for each, creating one, inviting
// someone and joining with an invitation.

import { Role } from "../src/gen/tenantry/auth/v1/auth_pb.js";
import type { App } from "./main.js";
import { $, field, notice, onSubmit, show } from "./ui.js";

export function roleName(role: Role): string {
  return (Role[role] ?? "unknown").replace("ROLE_", "").toLowerCase();
}

export function setUpOrgs(app: App): void {
  const create = $<HTMLFormElement>("#create-org");
  const slug = create.elements.namedItem("slug") as HTMLInputElement;
  // Suggest a slug from the name until the user types one.
  slug.addEventListener("input", () => (slug.dataset.edited = "yes"));
  (create.elements.namedItem("name") as HTMLInputElement).addEventListener("input", (event) => {
    if (slug.dataset.edited) return;
    const name = (event.target as HTMLInputElement).value;
    slug.value = name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  });
  onSubmit(create, async () => {
    // The answer's tokens are pinned to the new organization; the client
    // switches to them by itself.
    const { organization } = await app.tenantry.org.createOrganization({ name: field(create, "name"), slug: field(create, "slug") });
    create.reset();
    delete slug.dataset.edited;
    notice(`Created ${organization?.name}: you are its owner and now work in it.`);
    await app.render();
  });

  const invite = $<HTMLFormElement>("#invite");
  onSubmit(invite, async () => {
    const role = Number(field(invite, "role")) as Role;
    const { invitation, token } = await app.tenantry.org.createInvitation({ email: field(invite, "email"), role });
    const result = $("#invite-result");
    const code = document.createElement("code");
    code.textContent = token;
    result.replaceChildren(`Invited ${invitation?.email} as ${roleName(role)}. They join with this token (also mailed to them): `, code);
    show(result, true);
    invite.reset();
  });

  const accept = $<HTMLFormElement>("#accept");
  onSubmit(accept, async () => {
    const { membership } = await app.tenantry.org.acceptInvitation({ token: field(accept, "token") });
    accept.reset();
    notice(`You joined ${membership?.organization?.name} as ${roleName(membership?.role ?? Role.UNSPECIFIED)}. Switch to it to work there.`);
    await app.render();
  });
}

export async function renderOrgs(app: App): Promise<void> {
  const me = app.me!;
  const { memberships } = await app.tenantry.org.listMyOrganizations({ pageSize: 100 });
  const current = memberships.find((m) => m.organization?.id === me.organizationId);
  $("#current-org").textContent = current
    ? `Working in ${current.organization?.name} as ${roleName(me.role)}.`
    : "You are in no organization yet: create one, or join with an invitation.";

  const list = $("#org-list");
  list.replaceChildren(
    ...memberships.map((m) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "org-name";
      name.textContent = `${m.organization?.name} `;
      const details = document.createElement("span");
      details.className = "muted";
      details.textContent = `${m.organization?.slug} · ${roleName(m.role)}`;
      item.append(name, details);
      if (m === current) {
        item.className = "current";
        const tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = "current";
        item.append(" ", tag);
      } else {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Switch";
        button.setAttribute("aria-label", `Switch to ${m.organization?.name}`);
        button.addEventListener("click", async () => {
          button.disabled = true;
          try {
            await app.tenantry.org.switchOrganization({ organizationId: m.organization?.id ?? "" });
            notice(`Now working in ${m.organization?.name}.`);
            await app.render();
          } catch (e) {
            app.fail(e);
          } finally {
            button.disabled = false;
          }
        });
        item.append(" ", button);
      }
      return item;
    }),
  );
  show(list, memberships.length > 0);
  // Only admins and owners may invite (the server checks too).
  show($("#invite"), me.role >= Role.ADMIN);
}
