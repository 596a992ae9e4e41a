"""``veil keys show|export-card|set`` and ``veil contacts add|list|verify|remove``:
the user's identity and key card, and the address book of colleagues."""

from __future__ import annotations

import argparse
import base64
import sys
from typing import TYPE_CHECKING

from desktop.cli.support import open_home, safe
from desktop.core.common.errors import VeilError

if TYPE_CHECKING:  # annotations only: the commands import the app late, so the command line starts fast
    from desktop.app.keys.contacts import Contact


def _spoken(fingerprint: str) -> str:
    """``ABCD-EFGH`` as ``A B C D  /  E F G H``: one character at a time, for the phone."""
    return "  /  ".join(" ".join(group) for group in fingerprint.split("-"))


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ") + (" UTC" if iso else "")


# -- keys ----------------------------------------------------------------------------------------
def cmd_keys_show(args: argparse.Namespace) -> int:
    from desktop.app.keys.identity import identity_storage, my_card

    home = open_home(args)
    card = my_card(home)
    print(f"Name:           {safe(card.name)}")
    print(f"Institution:    {safe(card.institution) or '-'}")
    print(f"E-mail:         {safe(card.email) or '-'}")
    print(f"Age recipient:  {card.age_recipient}")
    print(f"Signing key:    {base64.b64encode(card.signing_key).decode('ascii')} (Ed25519)")
    print(f"Fingerprint:    {card.fingerprint}")
    print(f"Read it out:    {_spoken(card.fingerprint)}")
    print("                (no I, L, O or U: 0 is zero, 1 is one)")
    print(f"Secret keys:    in {identity_storage(home)}")
    return 0


def cmd_keys_export_card(args: argparse.Namespace) -> int:
    from desktop.app.keys.identity import my_card, write_my_card
    from desktop.core.share.identity import export_card

    home = open_home(args)
    if args.output == "-":
        sys.stdout.write(export_card(my_card(home)).decode("utf-8"))
        return 0
    card = write_my_card(home, args.output, overwrite=args.force)
    print(f"Wrote your key card to {safe(args.output)} (public: safe to e-mail).")
    print(f"Fingerprint: {card.fingerprint}; tell your colleagues to check it with you by phone.")
    return 0


def cmd_keys_set(args: argparse.Namespace) -> int:
    from desktop.app.keys.identity import set_my_details

    if args.name is None and args.institution is None and args.email is None:
        raise VeilError("Give what to change: --name, --institution and/or --email.")
    card = set_my_details(open_home(args), args.name, args.institution, args.email)
    print(f"Your key card now says: {safe(card.name)}"
          + (f", {safe(card.institution)}" if card.institution else "")
          + (f" <{safe(card.email)}>" if card.email else "") + ".")
    print("Colleagues keep your old card until you send them the new one ('veil keys export-card').")
    return 0


# -- contacts ------------------------------------------------------------------------------------
def _describe(contact: Contact) -> list[str]:
    head = safe(contact.name)
    if contact.institution:
        head += f" ({safe(contact.institution)})"
    if contact.email:
        head += f" <{safe(contact.email)}>"
    if contact.fingerprint:
        key = f"fingerprint {contact.fingerprint}"
    else:
        key = "bare age key, no signing key: can receive packages, none can be verified as sent by them"
    if contact.verified:
        state = f"verified {_when(contact.verified_at)} by {safe(contact.verified_by)}"
    else:
        state = "NOT verified"
    return [head, f"    {key}", f"    {contact.age_recipient}  ({state})"]


def cmd_contacts_add(args: argparse.Namespace) -> int:
    from desktop.app.keys import contacts

    if bool(args.card) == bool(args.recipient):
        raise VeilError("Give a key card file, or --recipient age1... with --name (not both).")
    if args.recipient and not args.name:
        raise VeilError("A bare age recipient needs a name: --name NAME.")
    if args.card and (args.institution or args.email):
        raise VeilError("A key card brings its own institution and e-mail; --institution and --email "
                        "are for a bare --recipient.")
    if args.replace and args.name:
        raise VeilError("--replace keeps the contact's name: give no --name.")
    home = open_home(args)
    if args.replace:
        card = contacts.read_card_file(args.card) if args.card else None
        contact = contacts.replace_key(home, args.replace, card=card, recipient=args.recipient)
        if args.verified:
            contact = contacts.verify_contact(home, contact.name)
        print(f"Replaced the key of {safe(contact.name)}. A changed key is what an impostor would send: "
              "rely on it only once you have checked it with them by phone.")
    elif args.card:
        contact = contacts.add_card_file(home, args.card, args.name, args.verified)
        print(f"Added {safe(contact.name)}.")
    else:
        contact = contacts.add_recipient(home, args.recipient, args.name, args.institution or "",
                                         args.email or "", args.verified)
        print(f"Added {safe(contact.name)} (a bare age key: packages can be sent to them, "
              "but none can be verified as coming from them).")
    for line in _describe(contact)[1:]:
        print(line)
    if not contact.verified:
        what = "the fingerprint" if contact.fingerprint else "the whole age1... key"
        print(f"Check {what} with {safe(contact.name)} by phone, then: "
              f"veil contacts verify '{safe(contact.name)}'")
    return 0


def cmd_contacts_list(args: argparse.Namespace) -> int:
    from desktop.app.keys.contacts import list_contacts

    found = list_contacts(open_home(args))
    if not found:
        print("No contacts. Add one: veil contacts add CARD_FILE (or --recipient age1... --name NAME)")
    for contact in found:
        for line in _describe(contact):
            print(line)
    return 0


def cmd_contacts_verify(args: argparse.Namespace) -> int:
    from desktop.app.keys.contacts import verify_contact

    contact = verify_contact(open_home(args), args.contact)
    what = f"fingerprint {contact.fingerprint}" if contact.fingerprint else f"age key {contact.age_recipient}"
    print(f"Marked {safe(contact.name)}'s {what} as verified, {_when(contact.verified_at)} "
          f"by {safe(contact.verified_by)}.")
    return 0


def cmd_contacts_remove(args: argparse.Namespace) -> int:
    from desktop.app.keys.contacts import remove_contact

    contact = remove_contact(open_home(args), args.contact)
    print(f"Removed {safe(contact.name)} from your address book.")
    return 0


def add_share_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``veil keys ...`` and ``veil contacts ...``."""
    keys = sub.add_parser("keys", help="your identity: show, export or edit your public key card")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    p = ksub.add_parser("show", help="your key card and fingerprint (made on first use)")
    p.set_defaults(func=cmd_keys_show)
    p = ksub.add_parser("export-card", help="write your public key card to a file, to give colleagues")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the card file ('-': print it)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=cmd_keys_export_card)
    p = ksub.add_parser("set", help="change the name, institution or e-mail your card shows")
    p.add_argument("--name")
    p.add_argument("--institution")
    p.add_argument("--email")
    p.set_defaults(func=cmd_keys_set)

    contacts = sub.add_parser("contacts", help="your address book of colleagues' keys")
    csub = contacts.add_subparsers(dest="contacts_command", required=True)
    p = csub.add_parser("add", help="add a colleague from their key card file, or a bare age1... key",
                        description="Add a colleague from the key card file they sent, or (for someone "
                                    "who only has the age tool) from their age1... key with a name. "
                                    "Check the fingerprint with them by phone before relying on it.")
    p.add_argument("card", nargs="?", metavar="CARD_FILE", help="their key card file")
    p.add_argument("--recipient", metavar="AGE1...", help="a bare age recipient instead of a card")
    p.add_argument("--name", help="the contact's name (required with --recipient; overrides the card's)")
    p.add_argument("--institution", help="with --recipient: their institution")
    p.add_argument("--email", help="with --recipient: their e-mail address")
    p.add_argument("--verified", action="store_true",
                   help="you have already checked the fingerprint with them (by phone, in person)")
    p.add_argument("--replace", metavar="NAME_OR_FINGERPRINT",
                   help="give this existing contact the new key (their verification is cleared)")
    p.set_defaults(func=cmd_contacts_add)
    p = csub.add_parser("list", help="list your contacts with fingerprints and verification")
    p.set_defaults(func=cmd_contacts_list)
    p = csub.add_parser("verify", help="mark a contact's fingerprint as checked with them")
    p.add_argument("contact", metavar="NAME_OR_FINGERPRINT")
    p.set_defaults(func=cmd_contacts_verify)
    p = csub.add_parser("remove", help="remove a contact")
    p.add_argument("contact", metavar="NAME_OR_FINGERPRINT")
    p.set_defaults(func=cmd_contacts_remove)
