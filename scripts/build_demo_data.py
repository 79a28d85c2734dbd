#!/usr/bin/env python3
"""Build the bundled demo eval set (``rerank_fix/data/demo/``).

The demo set is a help-center / admin-console corpus for *Harborline*, a fictional
customer-messaging SaaS product. All text is our own, written for this project.
Documents and queries are rendered from the hand-written topic sheets below with a
seeded random generator, so re-running the script gives byte-identical files.

Usage::

    python scripts/build_demo_data.py            # (re)write rerank_fix/data/demo/
    python scripts/build_demo_data.py --check    # exit 1 if the shipped files are stale
    python scripts/build_demo_data.py --out /tmp/demo --seed 7

Only the Python standard library is used, so the script runs anywhere.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SEED = 20240917
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "rerank_fix" / "data" / "demo"

# Targets from the issue; the split sizes follow from these shares of all queries.
TEST_SHARE = 0.455
DEV_SHARE = 0.15
TYPO_SHARE = 0.18
# Most typos land in the short admin-console queries, as they do in real logs.
TYPO_ADMIN_SHARE_OF_TYPOS = 0.75

PRODUCT = "Harborline"

# ---------------------------------------------------------------------------
# Topic sheets
#
# Each base topic yields five documents: a how-to guide, a troubleshooting
# article, an admin-console command page, an "about" page and a release note.
# Query prefixes choose the document a query is aimed at:
#   "!t " troubleshooting, "!c " about page, "!g " guide, "!a " admin page.
# Docs-site questions default to the guide, admin-tool queries to the admin page.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    id: str
    cls: str
    titles: tuple[str, ...]
    noun: str
    syns: tuple[str, ...]
    task: str
    nav: str
    steps: tuple[str, ...]
    facts: tuple[str, ...]
    issues: tuple[tuple[str, str], ...]
    cmd: str
    flags: tuple[tuple[str, str], ...]
    change: str
    q_nl: tuple[str, ...]
    q_kw: tuple[str, ...]


def T(id: str, cls: str, **kw: object) -> Topic:  # noqa: A002 - mirrors the sheet field
    conv = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    return Topic(id=id, cls=cls, **conv)  # type: ignore[arg-type]


TOPICS: list[Topic] = [
    # ----------------------------------------------------------------- billing
    T("card-update", "billing",
      titles=["Update your payment method", "Changing the card on file"],
      noun="payment method", syns=["card on file", "credit card", "billing card"],
      task="replace the card used to pay for your subscription",
      nav="Settings › Billing › Payment method",
      steps=["Open Settings › Billing and select the Payment method tab",
             "Click Replace card and enter the new card number, expiry date and CVC",
             "Approve the 3-D Secure challenge if your bank asks for one",
             "Choose whether to retry any open invoice with the new card"],
      facts=["Only workspace owners and members with the Billing admin role can change the payment method.",
             "The old card is removed from our payment processor as soon as the new one is verified.",
             "We accept Visa, Mastercard and American Express; prepaid cards are rejected.",
             "Changing the card does not change your renewal date or plan."],
      issues=[("The new card is declined with the message card_not_supported",
               "prepaid and some virtual cards are not accepted, so use a regular credit or debit card"),
              ("The 3-D Secure window closes before I can approve it",
               "allow pop-ups for the billing page and approve the bank prompt within five minutes")],
      cmd="billing card set --workspace <workspace_id>",
      flags=[("--retry-open-invoices", "charge open invoices to the new card right away"),
             ("--notify-owner", "e-mail the owner about the change")],
      change="Billing admins can now replace the card on file from the mobile app.",
      q_nl=["How can I switch the credit card we pay with?",
            "Our company card expired, where do I put the new one so the next charge goes through?",
            "!t Why is my prepaid card refused when I try to change billing details?"],
      q_kw=["update card", "change payment method billing", "!t card_not_supported"]),
    T("invoices", "billing",
      titles=["Download invoices and receipts", "Finding past invoices"],
      noun="invoice", syns=["receipt", "bill", "billing statement"],
      task="download a PDF copy of an invoice or receipt",
      nav="Settings › Billing › Invoice history",
      steps=["Go to Settings › Billing and open Invoice history",
             "Filter the list by year or by status (paid, open, void)",
             "Click the invoice number to preview it",
             "Select Download PDF, or Download all to get a ZIP of the filtered invoices"],
      facts=["Invoices are issued on the renewal date and receipts are e-mailed to every billing contact once a payment succeeds.",
             "Invoice history goes back to the first charge on the workspace, up to seven years.",
             "The company name and address on an invoice come from the billing profile at the time it was issued; later edits only affect future invoices.",
             "A void invoice was cancelled before payment and never needs to be paid."],
      issues=[("An old invoice still shows my previous company address",
               "invoices are immutable once issued, so ask support to reissue it with the corrected billing profile"),
              ("The Download all button is greyed out",
               "the ZIP export is limited to 200 invoices, so narrow the date filter first")],
      cmd="billing invoices export --year <yyyy>",
      flags=[("--status", "only include paid, open or void invoices"),
             ("--format", "pdf (default) or a csv summary")],
      change="Invoice PDFs now show the purchase order number when one is set on the billing profile.",
      q_nl=["Where can our accountant grab copies of last year's bills?",
            "Can I get every receipt from 2023 in one zip file?",
            "!t The company address on an invoice from March is wrong, can it be corrected?"],
      q_kw=["invoice pdf download", "export invoices 2023 zip", "!t reissue invoice address"]),
    T("change-plan", "billing",
      titles=["Upgrade or downgrade your plan", "Switching between Team, Business and Enterprise"],
      noun="plan", syns=["subscription tier", "pricing plan", "edition"],
      task="move the workspace to a higher or lower plan",
      nav="Settings › Billing › Plan",
      steps=["Open Settings › Billing › Plan",
             "Click Change plan and pick Team, Business or Enterprise",
             "Review the price difference shown for the rest of the billing period",
             "Confirm the change; upgrades apply immediately"],
      facts=["Upgrades take effect at once and you are charged a prorated amount for the remainder of the period.",
             "Downgrades are scheduled for the end of the current billing period so you keep paid features until then.",
             "Features that are not part of the lower plan, such as SAML SSO or custom roles, are switched off when a downgrade takes effect.",
             "Enterprise is sold through our sales team and cannot be selected self-serve."],
      issues=[("The Downgrade button is disabled",
               "remove features the lower plan does not include first, for example delete custom roles or turn off SSO enforcement"),
              ("I upgraded but the new features are not visible",
               "sign out and back in, since feature flags are loaded at login")],
      cmd="billing plan change --to <team|business>",
      flags=[("--at-period-end", "schedule the change instead of applying it now"),
             ("--preview", "print the prorated amount without changing anything")],
      change="Plan changes now show a line-by-line preview of prorated charges before you confirm.",
      q_nl=["What happens to our paid features if we go down to a cheaper tier mid-month?",
            "We need more features, how do I move from Team up to Business?",
            "!t I can't click the downgrade button, what is blocking it?",
            "!c Is the price difference charged straight away when upgrading?"],
      q_kw=["upgrade plan business", "downgrade team end of period", "!t downgrade disabled"]),
    T("cancel", "billing",
      titles=["Cancel your subscription", "Ending a paid subscription"],
      noun="subscription", syns=["paid plan", "account subscription", "renewal"],
      task="cancel the paid subscription and stop future charges",
      nav="Settings › Billing › Plan › Cancel subscription",
      steps=["Open Settings › Billing › Plan",
             "Scroll down and click Cancel subscription",
             "Tell us why you are leaving (optional) and confirm",
             "Download any data you want to keep before the period ends"],
      facts=["Cancellation stops automatic renewal; the workspace stays on the paid plan until the end of the period you already paid for.",
             "After the period ends the workspace falls back to the Free plan and conversation history older than 90 days becomes read-only.",
             "You can resubscribe at any time and your settings are restored.",
             "Cancelling does not delete the workspace; deletion is a separate step."],
      issues=[("I cancelled but was still charged",
               "the charge was probably for a period that started before the cancellation, so check the invoice date or ask billing support for a review"),
              ("Cancel subscription is missing from the page",
               "only the workspace owner can cancel; billing admins see a read-only plan page")],
      cmd="billing subscription cancel --workspace <workspace_id>",
      flags=[("--reason", "free-text reason recorded for churn reporting"),
             ("--immediately", "end the subscription now instead of at period end (staff only)")],
      change="You can now undo a cancellation with one click until the period ends.",
      q_nl=["How do I stop being billed for Harborline?",
            "!c If we stop paying, do we lose our conversation history?",
            "!t We ended our plan last week yet a charge came through today, why?"],
      q_kw=["cancel subscription", "stop renewal", "!c cancel plan data after"]),
    T("seats", "billing",
      titles=["Remove seats and reassign licenses", "Managing your seat count"],
      noun="seat", syns=["license", "user license", "paid seat"],
      task="lower the number of paid seats or give a license to someone else",
      nav="Settings › Billing › Seats",
      steps=["Open Settings › Members and deactivate people who no longer need access",
             "Go to Settings › Billing › Seats",
             "Lower the seat count to match the number of active members",
             "Save; the new count applies from the next renewal"],
      facts=["A seat is a paid slot; any active member, including admins, occupies one seat.",
             "Deactivated members free their seat immediately and the seat can be given to a new invitee.",
             "Guests with read-only access do not use a paid seat.",
             "Seat reductions never produce a refund for the current period."],
      issues=[("I can't reduce seats below the number of members",
               "every active member holds a seat, so deactivate members before lowering the seat count"),
              ("A new invite says no seats available",
               "all paid seats are taken; add a seat or deactivate someone first")],
      cmd="billing seats set <count>",
      flags=[("--apply-at-renewal", "default; the lower count starts next period"),
             ("--dry-run", "show which members would be affected")],
      change="The Seats page now lists inactive members who still hold a paid seat.",
      q_nl=["Someone left the company, can their license go to the new hire?",
            "!c Do read-only guests count toward the number of users we pay for?",
            "!t Why won't it let me lower the user count below the current number?"],
      q_kw=["reduce seats", "reassign license", "!t no seats available invite"]),
    T("tax-id", "billing",
      titles=["Add a VAT number or tax ID", "Tax IDs on invoices"],
      noun="tax ID", syns=["VAT number", "GST number", "tax registration"],
      task="add a VAT or other tax registration number so it appears on invoices",
      nav="Settings › Billing › Billing profile",
      steps=["Open Settings › Billing › Billing profile",
             "Choose the country and the tax ID type",
             "Enter the number exactly as registered, including the country prefix",
             "Save; we validate EU VAT numbers against VIES within a minute"],
      facts=["With a valid EU VAT number, invoices for business customers outside Ireland use the reverse-charge mechanism and show no VAT.",
             "Australian GST, UK VAT, Canadian GST/HST and Swiss VAT numbers are supported.",
             "Tax IDs only apply to invoices issued after they are added.",
             "If VIES is unavailable, the number is saved as pending and checked again every hour."],
      issues=[("The VAT number shows as invalid",
               "enter it with the two-letter country prefix and no spaces, e.g. DE123456789, and make sure it is active in VIES"),
              ("VAT is still charged after adding our number",
               "the invoice was issued before the number was validated; future invoices will use reverse charge")],
      cmd="billing taxid add <type> <value>",
      flags=[("--validate-now", "force an immediate VIES lookup"),
             ("--remove", "delete the stored tax ID")],
      change="Swiss and Norwegian VAT numbers can now be added to billing profiles.",
      q_nl=["Our finance team needs our VAT registration printed on the bills, how?",
            "!c Why are we still paying VAT when we are a business in Germany?",
            "!t It says my VAT number isn't valid but it definitely is"],
      q_kw=["add vat number", "gst id invoice", "!t vat invalid vies"]),
    T("failed-payment", "billing",
      titles=["What happens when a payment fails", "Declined payments and the grace period"],
      noun="failed payment", syns=["declined charge", "unpaid invoice", "payment failure"],
      task="fix a declined payment before the workspace is restricted",
      nav="Settings › Billing › Invoice history",
      steps=["Open the e-mail we sent about the failed payment or go to Settings › Billing",
             "Find the invoice marked Open",
             "Click Pay now and use the same card or a new one",
             "Wait for the confirmation; the warning banner disappears within a few minutes"],
      facts=["We retry a failed charge automatically after 3, 5 and 7 days.",
             "During the 14-day grace period everything keeps working but admins see a warning banner.",
             "If the invoice is still unpaid after the grace period the workspace becomes read-only until payment succeeds.",
             "No data is deleted because of a failed payment."],
      issues=[("Payment keeps failing with do_not_honor",
               "the bank blocked the charge, so ask the bank to allow payments to Harborline Ltd or use another card"),
              ("The workspace is read-only even though we paid",
               "bank transfers can take two business days to be matched; send the remittance advice to billing support to speed it up")],
      cmd="billing invoice pay <invoice_id>",
      flags=[("--card", "use a specific saved card"),
             ("--extend-grace <days>", "staff only: extend the grace period by up to 14 days")],
      change="Failed payment e-mails now include a one-click Pay now link that works without signing in.",
      q_nl=["!c Our card bounced, how long before the team loses access?",
            "What does the red banner about an unpaid invoice mean and how do I clear it?",
            "!t Bank keeps rejecting the charge with do_not_honor"],
      q_kw=["payment failed grace period", "pay open invoice", "!t do_not_honor"]),
    T("billing-contacts", "billing",
      titles=["Change who receives billing e-mails", "Billing contacts"],
      noun="billing contact", syns=["invoice recipient", "billing e-mail", "finance contact"],
      task="choose which addresses receive invoices and payment notices",
      nav="Settings › Billing › Billing profile › Contacts",
      steps=["Open Settings › Billing › Billing profile",
             "Under Contacts, click Add contact",
             "Enter the e-mail address, for example accounts@yourcompany.com",
             "Pick which notices it should receive: invoices, receipts or payment failures"],
      facts=["Billing contacts do not need a Harborline account.",
             "You can add up to five billing contacts.",
             "The workspace owner always receives payment failure notices, even if removed from the list.",
             "Shared mailboxes such as finance@ work well as billing contacts."],
      issues=[("Our accounts payable mailbox never gets the invoice",
               "check that the address is listed with Invoices ticked and that mail from billing@harborline.io is not quarantined"),
              ("I can't remove the owner's address",
               "the owner is always told about failed payments; you can only untick invoices and receipts")],
      cmd="billing contacts add <email>",
      flags=[("--notices", "comma separated: invoices,receipts,failures"),
             ("--remove", "delete a contact")],
      change="Billing contacts can now be set to receive only payment failure notices.",
      q_nl=["Can invoices go to our accounts payable inbox instead of my personal e-mail?",
            "!c Does the finance person need a login to get the invoices?",
            "!t Our AP mailbox isn't getting any of the monthly invoices"],
      q_kw=["billing email change", "add invoice recipient", "finance contact receipts"]),
    T("promo-code", "billing",
      titles=["Apply a promotion code", "Discounts and coupons"],
      noun="promotion code", syns=["coupon", "discount code", "voucher"],
      task="redeem a discount or coupon on the subscription",
      nav="Settings › Billing › Plan › Add promotion code",
      steps=["Open Settings › Billing › Plan",
             "Click Add promotion code",
             "Type the code exactly as received; codes are not case-sensitive",
             "Apply it; the discount shows on the next invoice preview"],
      facts=["Only one promotion code can be active on a subscription at a time.",
             "Most codes apply to a fixed number of billing periods, for example 50% off for three months.",
             "Codes cannot be applied to invoices that were already issued.",
             "Nonprofit and education discounts are granted by support rather than through a code."],
      issues=[("The code says expired",
               "each code has a redemption deadline, so ask whoever sent it for a new one"),
              ("The discount didn't show on this month's invoice",
               "the invoice was finalised before the code was added; it applies from the next one")],
      cmd="billing coupon apply <code>",
      flags=[("--replace", "replace an active code"),
             ("--preview", "show the discounted total")],
      change="Promotion codes can now be restricted to annual plans.",
      q_nl=["I got a discount voucher from the sales rep, where do I enter it?",
            "!c Do you have a discount for charities and schools?",
            "!t Coupon isn't reflected on my bill this month"],
      q_kw=["apply coupon", "!t promo code expired", "!c nonprofit discount"]),
    T("overage", "billing",
      titles=["Message overage charges", "How usage above your plan is billed"],
      noun="overage", syns=["usage charges", "extra messages", "metered usage"],
      task="understand and limit charges for messages above the plan allowance",
      nav="Settings › Billing › Usage",
      steps=["Open Settings › Billing › Usage to see messages sent this period",
             "Compare the total with the allowance included in your plan",
             "Set a monthly spending cap under Usage limits",
             "Optionally add an alert at 80% of the allowance"],
      facts=["Each plan includes a monthly allowance of outbound messages; SMS and WhatsApp messages are counted separately.",
             "Messages above the allowance are billed in blocks of 1,000 at the end of the period.",
             "When a spending cap is reached, outbound SMS pauses but e-mail and chat keep working.",
             "Usage resets on the renewal date, not on the first of the month."],
      issues=[("Outbound SMS stopped sending",
               "the monthly spending cap was reached, so raise the cap or wait for the renewal date"),
              ("The overage charge looks higher than the usage graph",
               "the graph shows single messages, but overage is billed in blocks of 1,000, rounded up")],
      cmd="billing usage cap set <amount>",
      flags=[("--alert-at <percent>", "send an alert when usage reaches this share of the allowance"),
             ("--channel", "sms, whatsapp or all")],
      change="Usage alerts can now be posted to a Slack channel.",
      q_nl=["!c Why is there an extra charge for messages on our latest invoice?",
            "Can we set a hard limit so SMS spend doesn't go over budget?",
            "!t Texts to customers suddenly stopped going out"],
      q_kw=["overage charges sms", "spending cap", "!c usage reset date"]),
    T("trial", "billing",
      titles=["Free trial: what to expect", "Extending or ending a trial"],
      noun="free trial", syns=["trial period", "evaluation", "trial workspace"],
      task="extend a trial or convert it to a paid plan",
      nav="Settings › Billing › Trial",
      steps=["Open Settings › Billing while the trial is running",
             "Click Choose a plan to convert now, or Request extension",
             "Add a payment method if you are converting",
             "Confirm; conversion keeps all data and settings"],
      facts=["Trials last 14 days and include all Business plan features.",
             "One extension of 7 days can be requested per workspace.",
             "If no plan is chosen, the workspace moves to the Free plan when the trial ends; nothing is deleted.",
             "You are not asked for a card to start a trial."],
      issues=[("Request extension is not shown",
               "the workspace already used its one extension; contact sales for a longer evaluation"),
              ("SSO stopped working after the trial",
               "the workspace fell back to the Free plan, which does not include SSO")],
      cmd="billing trial extend --days 7",
      flags=[("--workspace", "target workspace id"),
             ("--convert-to", "start a paid plan immediately")],
      change="Trials now show a countdown banner during the last three days.",
      q_nl=["Can I get a few more days to evaluate before we pay?",
            "!c What happens to our data when the evaluation period runs out and we don't buy?",
            "!t Single sign-on stopped working right after our trial finished"],
      q_kw=["extend trial", "trial end free plan", "convert trial paid"]),
    # --------------------------------------------------------------------- api
    T("apikey-create", "api",
      titles=["Create an API key", "Generating API credentials"],
      noun="API key", syns=["secret key", "API token", "access key"],
      task="create a secret key for calling the Harborline REST API",
      nav="Settings › Developers › API keys",
      steps=["Open Settings › Developers › API keys",
             "Click New key and give it a descriptive name",
             "Choose the scopes the key needs",
             "Copy the secret immediately; it is shown only once"],
      facts=["Secret keys start with hl_live_ in production and hl_test_ in the sandbox.",
             "A workspace can hold up to 50 active keys.",
             "Keys belong to the workspace, not to the person who created them, so they keep working when that person leaves.",
             "Send the key in the Authorization header as a bearer token."],
      issues=[("I closed the dialog and lost the secret",
               "secrets are not stored in readable form, so create a new key and delete the old one"),
              ("The New key button is missing",
               "only owners and members with the Developer role can create keys")],
      cmd="keys create --name <label> --scopes <list>",
      flags=[("--expires-in <days>", "optional automatic expiry"),
             ("--env", "live or test")],
      change="API keys can now be created with an automatic expiry date.",
      q_nl=["Where do I generate a token so our backend can call your REST API?",
            "!c Will our integration break when the developer who made the key leaves the company?",
            "!t I didn't copy the secret when I made it, can I view it again?"],
      q_kw=["new api key", "create token developer", "!t lost api secret"]),
    T("apikey-rotate", "api",
      titles=["Rotate an API key", "Rolling API keys"],
      noun="API key", syns=["secret key", "credentials", "API token"],
      task="replace an API key with a new secret while existing integrations keep working",
      nav="Settings › Developers › API keys",
      steps=["Open Settings › Developers › API keys and find the key",
             "Choose Roll key from the actions menu",
             "Pick an overlap window between 1 hour and 7 days",
             "Deploy the new secret to your services, then end the overlap early or let it expire"],
      facts=["During the overlap window both the old and the new secret are accepted.",
             "Rolling keeps the key's name, scopes and ID; only the secret changes.",
             "Each roll is written to the audit log as api_key.rolled.",
             "We recommend rolling production keys at least every 90 days."],
      issues=[("Requests fail with 401 right after rolling",
               "the overlap window was set to zero or has already expired, so roll again with a longer window"),
              ("The old secret still works after rotation",
               "the overlap window is still open; end it from the key's page")],
      cmd="keys roll <key_id> --overlap <duration>",
      flags=[("--end-overlap", "stop accepting the previous secret now"),
             ("--notify", "e-mail the key's listed owners")],
      change="Rolling a key now lets you pick an overlap window of up to 7 days.",
      q_nl=["How do I rotate an API key without downtime for existing integrations?",
            "Our security policy says secrets must change every quarter, what is the safest way to do that?",
            "!t After swapping the token our calls started returning 401"],
      q_kw=["rotate api key", "roll key overlap", "!t 401 after key roll"]),
    T("apikey-revoke", "api",
      titles=["Revoke a compromised API key", "Deleting API keys"],
      noun="API key", syns=["leaked secret", "exposed token", "credential"],
      task="immediately disable a key that was leaked or is no longer needed",
      nav="Settings › Developers › API keys",
      steps=["Open Settings › Developers › API keys",
             "Select the key and choose Revoke",
             "Type the key name to confirm",
             "Check the audit log for requests made with the key before it was revoked"],
      facts=["Revocation takes effect within 30 seconds worldwide and cannot be undone.",
             "Requests with a revoked key return 401 with the error code key_revoked.",
             "If a key is pushed to a public GitHub repository, our secret scanning partner tells us and we revoke it automatically and e-mail the owners.",
             "Revoked keys stay listed for 30 days for reference."],
      issues=[("A key was revoked and nobody on our team did it",
               "it was probably exposed publicly and revoked by secret scanning; check the e-mail sent to owners"),
              ("Integrations still fail after creating a replacement",
               "update every service, because the replacement has a different secret")],
      cmd="keys revoke <key_id>",
      flags=[("--reason", "leaked, unused or other"),
             ("--force", "skip the confirmation prompt")],
      change="Keys exposed in public repositories are now revoked automatically.",
      q_nl=["I accidentally committed our secret to a public repo, what should I do right now?",
            "!c How quickly does a disabled token stop working?",
            "!t One of our keys got deactivated and nobody here touched it"],
      q_kw=["revoke key", "leaked api key", "!t key_revoked 401"]),
    T("apikey-scopes", "api",
      titles=["Limit what an API key can do", "API key scopes"],
      noun="scope", syns=["permission", "access level", "key permissions"],
      task="restrict an API key to specific resources and to read or write access",
      nav="Settings › Developers › API keys › Scopes",
      steps=["Open the key in Settings › Developers › API keys",
             "Click Edit scopes",
             "Tick read or write for each resource: contacts, conversations, messages, reports",
             "Save; changes apply to the next request"],
      facts=["A key with no scopes selected cannot call any endpoint.",
             "Write access does not imply read access; tick both if the integration needs to list and update records.",
             "The reports:read scope is needed for analytics exports.",
             "Calls outside the key's scopes return 403 insufficient_scope."],
      issues=[("Calls return 403 insufficient_scope",
               "add the missing scope named in the error body to the key"),
              ("I can't edit scopes on an old key",
               "keys created before 2022 are full-access legacy keys, so create a new scoped key instead")],
      cmd="keys scopes set <key_id> <scope,...>",
      flags=[("--add", "add scopes without removing existing ones"),
             ("--list", "print the current scopes")],
      change="Read-only scopes are now available for the reports endpoints.",
      q_nl=["Can I give a contractor a token that can only read contacts but not change them?",
            "!c Which permission does a key need to pull analytics exports?",
            "!t API responds 403 insufficient_scope when listing conversations"],
      q_kw=["api key permissions read only", "key scopes", "!t insufficient_scope"]),
    T("rate-limit-429", "api",
      titles=["Handling 429 Too Many Requests", "Backing off when you hit the rate limit"],
      noun="rate limit", syns=["throttling", "request quota", "429 response"],
      task="handle throttled requests correctly in your integration",
      nav="Developer docs › Rate limits",
      steps=["Read the Retry-After header on every 429 response",
             "Wait at least that many seconds before retrying",
             "Use exponential backoff with jitter for repeated 429s",
             "Spread bulk jobs out or use the batch endpoints"],
      facts=["Every response includes X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.",
             "Limits are counted per workspace, not per key, so several integrations share the same budget.",
             "Batch endpoints accept up to 100 records per call and count as one request.",
             "Retrying immediately after a 429 makes throttling last longer."],
      issues=[("Our sync job gets 429 every night",
               "several integrations share the workspace budget, so schedule jobs at different times or use batch endpoints"),
              ("The Retry-After header is missing",
               "it is only sent on 429 responses; use X-RateLimit-Reset on normal responses")],
      cmd="ratelimit status --workspace <workspace_id>",
      flags=[("--since", "time window to report"),
             ("--by-key", "break usage down per API key")],
      change="Rate limit headers are now returned on every API response, not only on 429s.",
      q_nl=["What is the right way to retry when your API tells us to slow down?",
            "!c Do two different tokens in the same workspace share one request budget?",
            "!t Our nightly import keeps getting Too Many Requests errors"],
      q_kw=["429 retry-after", "!c rate limit headers", "backoff jitter"]),
    T("pagination", "api",
      titles=["Paginating list endpoints", "Fetching large result sets"],
      noun="pagination", syns=["paging", "cursor", "result pages"],
      task="walk through every page of a list endpoint without missing or repeating records",
      nav="Developer docs › Pagination",
      steps=["Call the list endpoint with a limit, for example limit=100",
             "Read next_cursor from the response body",
             "Pass it as the cursor parameter on the next call",
             "Stop when has_more is false"],
      facts=["Cursors are opaque strings and expire after 24 hours.",
             "Records created while you page through a list appear at the end, never in the middle.",
             "The maximum page size is 200 on current endpoints.",
             "Sorting by updated_at lets you resume an incremental sync."],
      issues=[("The cursor is rejected with invalid_cursor",
               "the cursor expired after 24 hours or was URL-encoded twice, so start a new listing"),
              ("Records appear twice",
               "you are mixing offset and cursor parameters; use only the cursor")],
      cmd="api list <resource> --all",
      flags=[("--page-size", "records per page, up to 200"),
             ("--since", "only records updated after this time")],
      change="List endpoints now return has_more so you can stop without an extra empty request.",
      q_nl=["How do I fetch all of our 80,000 contacts through the API without duplicates?",
            "!c How long can I keep a paging token before it stops working?",
            "!t I'm getting invalid_cursor halfway through a big export"],
      q_kw=["pagination cursor", "next_cursor has_more", "!t invalid_cursor"]),
    T("webhooks-setup", "api",
      titles=["Set up a webhook endpoint", "Receiving events with webhooks"],
      noun="webhook", syns=["event notification", "callback URL", "endpoint subscription"],
      task="get an HTTP callback whenever something happens in the workspace",
      nav="Settings › Developers › Webhooks",
      steps=["Open Settings › Developers › Webhooks and click Add endpoint",
             "Enter an HTTPS URL that you control",
             "Select the events to subscribe to, such as conversation.created or contact.updated",
             "Send a test event and check that your server answers with a 2xx status"],
      facts=["Endpoints must use HTTPS with a certificate from a public authority.",
             "Each delivery must be acknowledged with a 2xx response within 10 seconds.",
             "A workspace can have up to 20 webhook endpoints.",
             "Events are delivered at least once, so deduplicate on the event id."],
      issues=[("The test event times out",
               "your server must reply within 10 seconds, so acknowledge first and process in the background"),
              ("The endpoint was disabled automatically",
               "after 3 days of failed deliveries we disable the endpoint; fix the server and re-enable it")],
      cmd="webhooks create --url <https-url> --events <list>",
      flags=[("--secret", "set a custom signing secret"),
             ("--disabled", "create without sending events yet")],
      change="You can now filter webhook events by inbox.",
      q_nl=["How can our server be notified whenever a new conversation starts?",
            "!c Can the same event arrive twice at our endpoint?",
            "!t Our callback URL got switched off by itself"],
      q_kw=["add webhook endpoint", "webhook events subscribe", "!t webhook endpoint disabled"]),
    T("webhook-retries", "api",
      titles=["Webhook retries and replaying events", "Recovering missed webhook events"],
      noun="webhook delivery", syns=["event delivery", "retry schedule", "failed delivery"],
      task="find failed webhook deliveries and send them again",
      nav="Settings › Developers › Webhooks › Delivery log",
      steps=["Open the endpoint in Settings › Developers › Webhooks",
             "Switch to the Delivery log tab and filter by Failed",
             "Select one or more events",
             "Click Replay to send them again"],
      facts=["Failed deliveries are retried with exponential backoff for up to 3 days.",
             "The delivery log keeps 30 days of history including response codes and bodies.",
             "Replayed events keep their original event id and timestamp.",
             "Bulk replay is limited to 10,000 events at a time."],
      issues=[("Replay does nothing for old events",
               "events older than 30 days are no longer stored, so use the Events API to rebuild state"),
              ("Events arrive out of order",
               "retries can deliver older events later; order by the created timestamp in the payload")],
      cmd="webhooks replay <endpoint_id> --since <time>",
      flags=[("--status failed", "only replay failed deliveries"),
             ("--limit", "maximum number of events")],
      change="Delivery logs now show response bodies for failed attempts.",
      q_nl=["Our server was down for an hour, how do we get the events we missed?",
            "!c How long do you keep retrying a callback that fails?",
            "!t Events are showing up in the wrong order"],
      q_kw=["replay webhook", "!c webhook retry schedule", "delivery log failed"]),
    T("idempotency", "api",
      titles=["Idempotent requests", "Safely retrying POST requests"],
      noun="idempotency key", syns=["request key", "duplicate protection", "retry-safe request"],
      task="retry a create request without creating duplicates",
      nav="Developer docs › Idempotency",
      steps=["Generate a unique value such as a UUID for each logical operation",
             "Send it in the Idempotency-Key header on the POST request",
             "If the request times out, resend it with the same key",
             "Treat a 409 idempotency_conflict as a sign that the body changed"],
      facts=["Keys are remembered for 24 hours.",
             "Repeating a request with the same key returns the original response, including errors.",
             "Reusing a key with a different body returns 409.",
             "GET and DELETE are idempotent by nature and ignore the header."],
      issues=[("409 idempotency_conflict",
               "the same key was sent with a different payload, so generate a fresh key for a new operation"),
              ("Duplicate messages were sent after a timeout",
               "the retries did not include an Idempotency-Key header")],
      cmd="api requests lookup --idempotency-key <key>",
      flags=[("--workspace", "workspace id"),
             ("--show-body", "print the stored response")],
      change="Idempotency keys are now supported on the bulk contacts endpoint.",
      q_nl=["If my POST to send a message times out, how do I retry without the customer getting it twice?",
            "!c How long is a retry-safety header remembered?",
            "!t Got a 409 conflict when retrying a create call"],
      q_kw=["idempotency-key header", "!t duplicate message retry", "!t idempotency_conflict"]),
    T("api-errors", "api",
      titles=["API error codes", "Understanding API error responses"],
      noun="error response", syns=["error code", "HTTP status", "API error"],
      task="read an API error and decide whether to retry",
      nav="Developer docs › Errors",
      steps=["Check the HTTP status code first",
             "Read the error.code field for the exact reason",
             "Log the request_id from the response headers",
             "Retry only 429 and 5xx errors; fix the request for other 4xx errors"],
      facts=["All errors return a JSON body with error.code, error.message and error.param when a parameter is at fault.",
             "400 means validation failed, 401 a missing or invalid key, 403 a missing scope and 404 an unknown id.",
             "A 503 with the code maintenance is returned during scheduled maintenance.",
             "Quote the request_id when contacting support."],
      issues=[("Every call returns 401 invalid_api_key",
               "the header must be Authorization: Bearer followed by the key; a missing Bearer prefix is the most common cause"),
              ("Intermittent 502 errors",
               "retry with backoff, and if they persist for more than five minutes check the status page")],
      cmd="api requests lookup <request_id>",
      flags=[("--verbose", "include headers"),
             ("--workspace", "workspace id")],
      change="Validation errors now include error.param pointing at the offending field.",
      q_nl=["Which API errors is it safe to retry automatically?",
            "!c What does the request id in a failed response help with?",
            "!t Every call I make says invalid_api_key even though the key is new"],
      q_kw=["api error codes", "request_id lookup", "!t invalid_api_key bearer"]),
    T("sdks", "api",
      titles=["Install the official SDKs", "Client libraries for Python, Node.js and Ruby"],
      noun="SDK", syns=["client library", "package", "wrapper library"],
      task="install and configure an official client library",
      nav="Developer docs › SDKs",
      steps=["Install the package: pip install harborline, npm install @harborline/node or gem install harborline",
             "Set the HARBORLINE_API_KEY environment variable",
             "Create a client object; it reads the key from the environment",
             "Make a test call such as listing inboxes"],
      facts=["The SDKs retry 429 and 5xx responses automatically with backoff.",
             "Python 3.9+, Node.js 18+ and Ruby 3.1+ are supported.",
             "Each SDK sets the Idempotency-Key header on POST requests for you.",
             "Community libraries for Go and PHP exist but are not maintained by us."],
      issues=[("ImportError: cannot import name Client",
               "the old harborline-api package is installed, so uninstall it and install harborline"),
              ("SSL errors behind a corporate proxy",
               "set HTTPS_PROXY and point REQUESTS_CA_BUNDLE or NODE_EXTRA_CA_CERTS at your proxy's CA")],
      cmd="sdk versions",
      flags=[("--language", "python, node or ruby"),
             ("--latest", "show only the latest release")],
      change="The Node.js SDK now ships TypeScript types.",
      q_nl=["Is there a Python package so I don't have to write raw HTTP calls?",
            "!c Which Node version does your JavaScript library need?",
            "!t Getting ImportError cannot import name Client after pip install"],
      q_kw=["python sdk install", "npm harborline node", "!c go client library"]),
    T("oauth-apps", "api",
      titles=["Build an OAuth app", "OAuth 2.0 for public integrations"],
      noun="OAuth app", syns=["OAuth client", "public integration", "marketplace app"],
      task="let other Harborline workspaces connect to your integration with OAuth",
      nav="Settings › Developers › OAuth apps",
      steps=["Open Settings › Developers › OAuth apps and click Create app",
             "Add one or more redirect URIs",
             "Request only the scopes you need",
             "Use the authorization code flow with PKCE to obtain tokens"],
      facts=["Access tokens expire after 1 hour; refresh tokens last 90 days and rotate on use.",
             "Redirect URIs must match exactly, including the trailing slash.",
             "Apps used by more than 10 workspaces must pass a review before they are listed in the marketplace.",
             "Workspace admins can revoke an app's access at any time."],
      issues=[("redirect_uri_mismatch during authorisation",
               "the URI in the request must match a registered one character for character, including the trailing slash and scheme"),
              ("The refresh token stopped working",
               "refresh tokens rotate, so always store the new refresh token returned with each refresh")],
      cmd="oauth apps create --name <name> --redirect <uri>",
      flags=[("--scopes", "default scopes requested"),
             ("--public", "mark the app as a public client (PKCE required)")],
      change="OAuth apps now support PKCE for single-page applications.",
      q_nl=["How do I let other companies connect their account to our product through OAuth?",
            "!c How long do access tokens last before I have to refresh them?",
            "!t Authorization fails with redirect_uri_mismatch"],
      q_kw=["oauth app create", "!c refresh token expiry", "!t redirect_uri_mismatch"]),
    T("api-versions", "api",
      titles=["API versioning and deprecation policy", "Upgrading to a newer API version"],
      noun="API version", syns=["versioning", "deprecation", "breaking change"],
      task="pin your integration to an API version and upgrade safely",
      nav="Developer docs › Versioning",
      steps=["Check which version your workspace uses under Settings › Developers",
             "Read the upgrade guide for breaking changes",
             "Test the new version by sending the Harborline-Version header on a few requests",
             "Switch the default version for the workspace"],
      facts=["Deprecated versions keep working for at least 12 months after a replacement is released.",
             "Breaking changes only ship in a new major version.",
             "Deprecation warnings are sent in the Deprecation and Sunset response headers.",
             "Additive changes such as new fields can appear in any version."],
      issues=[("A response has new fields that break our parser",
               "additive changes are allowed in any version, so make your parser ignore unknown fields"),
              ("A Sunset header appeared in responses",
               "your version has a retirement date; plan the upgrade")],
      cmd="api version set <version>",
      flags=[("--workspace", "workspace id"),
             ("--show", "print the current default")],
      change="Responses now include Deprecation and Sunset headers for retiring versions.",
      q_nl=["!c How long will the old API keep working after a new one is released?",
            "How can I try the new API version on a few calls before switching?",
            "!t There's a Sunset header in responses, what does it mean?"],
      q_kw=["!c api deprecation policy", "harborline-version header", "!t sunset header"]),
    # ---------------------------------------------------------------- security
    T("2fa-enforce", "security",
      titles=["Require two-factor authentication", "Enforcing 2FA for the workspace"],
      noun="two-factor authentication", syns=["2FA", "multi-factor authentication", "MFA"],
      task="make two-factor authentication mandatory for every member",
      nav="Settings › Security › Authentication",
      steps=["Open Settings › Security › Authentication",
             "Switch on Require two-factor authentication",
             "Choose a grace period of 0, 3 or 7 days for members to enrol",
             "Save and let members know they will be asked to set it up at next login"],
      facts=["Members who have not enrolled when the grace period ends are signed out until they set up 2FA.",
             "When SSO is enforced, 2FA is handled by your identity provider and this setting is hidden.",
             "Owners can see each member's 2FA status on the Members page.",
             "Security keys (WebAuthn) count as a second factor."],
      issues=[("A member is locked out after enforcement",
               "they did not enrol during the grace period; they can enrol on the next sign-in screen or an admin can reset their 2FA"),
              ("The Require 2FA toggle is missing",
               "SSO enforcement is on, so multi-factor is controlled by your identity provider")],
      cmd="security 2fa require --grace <days>",
      flags=[("--report", "list members without 2FA"),
             ("--off", "stop requiring 2FA")],
      change="Admins can now export a list of members without two-factor authentication.",
      q_nl=["How can I force everyone in our company to use MFA?",
            "!c What happens to people who ignore the requirement to set up a second factor?",
            "!t Where did the option to require 2FA go? I can't find it"],
      q_kw=["enforce 2fa", "mfa required all members", "2fa status report"]),
    T("password-policy", "security",
      titles=["Password requirements", "Configuring the password policy"],
      noun="password policy", syns=["password rules", "password strength", "password requirements"],
      task="set the minimum password length, expiry and reuse rules",
      nav="Settings › Security › Password policy",
      steps=["Open Settings › Security › Password policy",
             "Set the minimum length (8 to 64 characters)",
             "Choose whether passwords expire and after how many days",
             "Save; members are asked to update non-compliant passwords at next login"],
      facts=["Passwords are checked against a list of known breached passwords.",
             "We follow NIST guidance and do not require special characters by default.",
             "The last five passwords cannot be reused.",
             "The policy does not apply to members who sign in with SSO."],
      issues=[("A password is rejected as compromised",
               "it appears in a public breach list, so choose a different passphrase"),
              ("Members were not asked to change their password",
               "the new policy is enforced at the next login, not for active sessions")],
      cmd="security password-policy set",
      flags=[("--min-length", "8 to 64"),
             ("--expire-days", "0 disables expiry")],
      change="Passwords are now checked against breach lists on every change.",
      q_nl=["Can we make passwords at least 14 characters for all staff?",
            "!c Do you force people to change passwords every few months?",
            "!t Why does it say my new password has been compromised?"],
      q_kw=["password length policy", "password expiry", "!t password compromised"]),
    T("audit-log", "security",
      titles=["View the audit log", "Searching and exporting audit events"],
      noun="audit log", syns=["activity log", "security events", "admin activity history"],
      task="see who changed what in the workspace and export the events",
      nav="Settings › Security › Audit log",
      steps=["Open Settings › Security › Audit log",
             "Filter by actor, event type or date range",
             "Click an event to see the before and after values",
             "Use Export to download the filtered events as CSV or JSON"],
      facts=["Events include sign-ins, permission changes, API key actions, exports and billing changes.",
             "Each event records the actor, IP address, user agent and timestamp in UTC.",
             "Audit events cannot be edited or deleted, even by owners.",
             "The audit log is available on Business and Enterprise plans."],
      issues=[("The export is empty",
               "the export uses the active filters, so clear the date filter or widen it"),
              ("The audit log menu is not visible",
               "your plan does not include the audit log or you are not an admin")],
      cmd="audit search --actor <email> --since <date>",
      flags=[("--event", "filter by event type such as member.role_changed"),
             ("--export", "csv or json")],
      change="Audit log events now include the user agent.",
      q_nl=["How can I see which admin changed someone's permissions last week?",
            "!c Can anyone delete entries from the security history?",
            "!t Downloading activity events gives me an empty file"],
      q_kw=["audit log search", "who changed role", "audit export csv"]),
    T("ip-allowlist", "security",
      titles=["Restrict access by IP address", "IP allowlisting"],
      noun="IP allowlist", syns=["trusted IP ranges", "network restriction", "IP whitelist"],
      task="allow sign-ins and API calls only from your office or VPN addresses",
      nav="Settings › Security › IP allowlist",
      steps=["Open Settings › Security › IP allowlist",
             "Add your office or VPN ranges in CIDR notation, for example 203.0.113.0/24",
             "Choose whether the list applies to the web app, the API, or both",
             "Click Test to confirm your current address is allowed, then enable the list"],
      facts=["Up to 100 ranges can be added and IPv6 is supported.",
             "Owners can always sign in from any address so nobody locks the whole team out.",
             "Requests from blocked addresses get 403 ip_not_allowed.",
             "IP allowlisting is an Enterprise feature."],
      issues=[("Mobile app users can't connect",
               "phones on cellular networks use carrier addresses, so require the VPN or exclude the mobile app"),
              ("A webhook test fails after enabling",
               "the allowlist only affects incoming requests; check the endpoint instead")],
      cmd="security ip-allowlist add <cidr>",
      flags=[("--scope", "web, api or all"),
             ("--enable", "turn enforcement on")],
      change="IP allowlists can now be applied separately to the web app and the API.",
      q_nl=["Can we block logins from outside our corporate VPN?",
            "!c Is there a risk of locking ourselves out if we restrict addresses?",
            "!t Staff on phones get ip_not_allowed since we turned on network restrictions"],
      q_kw=["ip allowlist", "restrict login vpn cidr", "!t ip_not_allowed"]),
    T("sessions", "security",
      titles=["Session length and forced sign-out", "Managing active sessions"],
      noun="session", syns=["login session", "idle timeout", "signed-in device"],
      task="control how long people stay signed in and end sessions remotely",
      nav="Settings › Security › Sessions",
      steps=["Open Settings › Security › Sessions",
             "Set the idle timeout and the maximum session length",
             "Open a member's profile to see their active devices",
             "Click Sign out everywhere to end all of that member's sessions"],
      facts=["The default idle timeout is 12 hours and the maximum session length 30 days.",
             "Changing the timeout applies to new sessions only.",
             "Signing a member out everywhere also revokes their mobile app tokens.",
             "Members can see and end their own sessions under Profile › Devices."],
      issues=[("People are logged out too often",
               "the idle timeout is short, so raise it in the session settings"),
              ("A stolen laptop still has access",
               "use Sign out everywhere for that member and reset their password")],
      cmd="security sessions revoke --member <email>",
      flags=[("--all-devices", "include mobile apps"),
             ("--idle-timeout", "set the idle timeout")],
      change="Members can now end their own sessions from Profile › Devices.",
      q_nl=["An employee's laptop was stolen, how do I kick that device out?",
            "!c How long before an inactive browser tab is logged out?",
            "!t Our agents complain they keep getting signed out during the day"],
      q_kw=["force logout user", "session timeout idle", "sign out everywhere"]),
    T("saml-errors", "security",
      titles=["Troubleshoot SAML single sign-on", "Fixing SAML SSO errors"],
      noun="SAML SSO", syns=["single sign-on", "identity provider", "SAML assertion"],
      task="diagnose and fix sign-in failures with SAML single sign-on",
      nav="Settings › Security › Single sign-on",
      steps=["Open Settings › Security › Single sign-on and click View last SAML response",
             "Compare the Audience and ACS URL with the values configured in your identity provider",
             "Check that the NameID is the member's e-mail address",
             "Upload the new certificate if your IdP rotated its signing certificate"],
      facts=["The ACS URL is https://app.harborline.io/sso/saml/acs/ followed by your workspace id.",
             "Clocks more than 3 minutes apart cause assertions to be rejected as not yet valid.",
             "Owners can always sign in with a password through the recovery link, even when SSO is enforced.",
             "Okta, Microsoft Entra ID, Google Workspace and OneLogin are tested configurations."],
      issues=[("Error: Invalid audience",
               "the Audience (Entity ID) in your IdP must be harborline.io/ followed by your workspace id"),
              ("Error: Signature validation failed",
               "the IdP signing certificate changed, so upload the new one")],
      cmd="sso saml inspect --last",
      flags=[("--workspace", "workspace id"),
             ("--raw", "print the raw decoded assertion")],
      change="The SSO page now shows the last SAML response for debugging.",
      q_nl=["!t Okta login to Harborline fails with an audience error, what should the entity ID be?",
            "!t Our identity provider swapped its certificate and now nobody can sign in, how do we fix it?",
            "!c Is there a way for the owner to get in if single sign-on is broken?"],
      q_kw=["!t saml invalid audience", "!t sso signature validation failed", "!c acs url"]),
    T("scim", "security",
      titles=["Provision users with SCIM", "Automatic user provisioning"],
      noun="SCIM provisioning", syns=["user provisioning", "directory sync", "automatic deprovisioning"],
      task="create, update and deactivate members automatically from your identity provider",
      nav="Settings › Security › Provisioning",
      steps=["Open Settings › Security › Provisioning and click Generate SCIM token",
             "Copy the SCIM base URL and token into your identity provider",
             "Assign the Harborline app to the groups that should have access",
             "Run a test provision and check the Members page"],
      facts=["Unassigning a user in the identity provider deactivates them in Harborline within 40 minutes.",
             "Groups can be mapped to roles, for example an IdP group Support-Leads to the Admin role.",
             "Members created through SCIM cannot change their own e-mail address.",
             "SCIM tokens do not expire but can be regenerated."],
      issues=[("Users are created twice",
               "an existing member's e-mail differs in case or alias from the IdP value, so merge them"),
              ("Deprovisioned people still appear active",
               "deprovisioning waits for the next sync; force one from the identity provider")],
      cmd="scim token regenerate",
      flags=[("--show-base-url", "print the SCIM endpoint"),
             ("--sync-status", "show the last sync")],
      change="SCIM group mapping can now assign roles.",
      q_nl=["!c When someone leaves and we remove them in Okta, are they automatically removed from Harborline?",
            "!c Can we map directory groups to admin or agent roles?",
            "!t Our identity provider sync is creating duplicate members"],
      q_kw=["scim token", "auto deprovision", "group role mapping"]),
    T("encryption", "security",
      titles=["How your data is encrypted", "Encryption at rest and in transit"],
      noun="encryption", syns=["data protection", "encryption keys", "customer-managed key"],
      task="understand how data is encrypted and bring your own key",
      nav="Settings › Security › Encryption",
      steps=["Create a key in AWS KMS in the same region as your workspace",
             "Grant the Harborline role permission to use the key",
             "Paste the key ARN into Settings › Security › Encryption",
             "Confirm; existing data is re-encrypted in the background"],
      facts=["All data is encrypted in transit with TLS 1.2 or later and at rest with AES-256.",
             "Customer-managed keys (BYOK) are available on Enterprise.",
             "Disabling your key makes the workspace unreadable until the key is enabled again.",
             "Backups are encrypted with the same key hierarchy."],
      issues=[("The workspace shows key unavailable",
               "the KMS key was disabled or the grant was removed, so restore access in AWS"),
              ("Re-encryption is slow",
               "large workspaces can take several hours; the app keeps working meanwhile")],
      cmd="security kms set <key-arn>",
      flags=[("--verify", "test the grant"),
             ("--status", "show re-encryption progress")],
      change="Customer-managed keys now support multi-region KMS keys.",
      q_nl=["!c Is our data encrypted when stored on your servers?",
            "Can we use our own AWS KMS key to encrypt our data?",
            "!t The whole workspace suddenly says the key is unavailable"],
      q_kw=["byok kms", "!c encryption at rest", "!t key unavailable"]),
    T("vuln-report", "security",
      titles=["Report a security vulnerability", "Responsible disclosure and bug bounty"],
      noun="vulnerability report", syns=["security issue", "bug bounty", "responsible disclosure"],
      task="report a suspected security weakness in Harborline",
      nav="harborline.io/security",
      steps=["Write up the issue with steps to reproduce and the affected URL",
             "Send it to security@harborline.io or submit it through our bug bounty page",
             "Do not access data that is not yours and do not run automated scanners against production",
             "Wait for our acknowledgement, normally within two business days"],
      facts=["Valid reports are rewarded with between $100 and $5,000 depending on severity.",
             "Our PGP key is published at harborline.io/.well-known/security.txt.",
             "Denial-of-service tests and social engineering are out of scope.",
             "We aim to fix critical issues within 7 days."],
      issues=[("No reply after a week",
               "resend to security@harborline.io with the subject ESCALATION; reports sent through the form are tracked automatically"),
              ("The report was marked out of scope",
               "the issue is on a third-party service or needs physical access")],
      cmd="security reports list",
      flags=[("--status", "new, triaged or fixed"),
             ("--severity", "low, medium, high or critical")],
      change="Our security.txt now lists a PGP key for encrypted reports.",
      q_nl=["I think I found an XSS bug in your app, who do I tell?",
            "!c Do you pay for security findings?",
            "!c Am I allowed to run a scanner against your production site?"],
      q_kw=["security disclosure", "!c bug bounty reward", "!c security.txt pgp"]),
    T("lost-2fa", "security",
      titles=["Lost your two-factor device", "Recovering access without your authenticator"],
      noun="recovery code", syns=["backup code", "2FA reset", "account recovery"],
      task="sign in after losing the phone or key used for two-factor authentication",
      nav="Sign-in page › Use a recovery code",
      steps=["On the sign-in page enter your password, then choose Use a recovery code",
             "Enter one of the ten codes you saved when enabling 2FA",
             "Once signed in, open Profile › Security and set up a new device",
             "Generate a fresh set of recovery codes"],
      facts=["Each recovery code works only once.",
             "Admins can reset another member's 2FA; the member then enrols again at next sign-in.",
             "If no codes are left and you are the only owner, support verifies your identity before resetting 2FA, which takes up to 3 business days.",
             "Support will never ask for your password."],
      issues=[("A recovery code is rejected",
               "codes are single-use and not case-sensitive, so make sure you are not reusing one"),
              ("No admin is available to reset my 2FA",
               "contact support from your account e-mail to start identity verification")],
      cmd="members 2fa reset <email>",
      flags=[("--notify", "e-mail the member"),
             ("--reason", "recorded in the audit log")],
      change="Recovery codes can now be downloaded as a text file.",
      q_nl=["My phone with the authenticator app broke, how do I log in now?",
            "!a I'm an admin, can I reset MFA for a colleague who got a new phone?",
            "!c I'm the only owner and lost both my phone and the backup codes"],
      q_kw=["lost 2fa device", "reset mfa member", "!g recovery codes"]),
    T("retention", "security",
      titles=["Set a data retention policy", "Automatically deleting old conversations"],
      noun="retention policy", syns=["data retention", "auto-deletion", "retention period"],
      task="delete conversations and attachments automatically after a set period",
      nav="Settings › Security › Data retention",
      steps=["Open Settings › Security › Data retention",
             "Choose what the policy covers: conversations, attachments or call recordings",
             "Set the retention period, for example 365 days",
             "Review the preview of how much data will be deleted and enable the policy"],
      facts=["Deletion runs nightly and cannot be reversed.",
             "Conversations under legal hold are skipped.",
             "Attachments can have a shorter period than conversations.",
             "Audit log retention is fixed by plan and is not affected by this policy."],
      issues=[("Nothing was deleted yet",
               "the first run happens the night after enabling the policy"),
              ("The legal team needs some conversations kept",
               "apply a legal hold tag before the policy runs")],
      cmd="security retention set --days <n> --scope <scope>",
      flags=[("--preview", "count affected records"),
             ("--legal-hold", "tag to exclude")],
      change="Retention policies can now cover call recordings.",
      q_nl=["Can old chats be wiped automatically after a year?",
            "!t How do we keep some conversations out of automatic deletion for a lawsuit?",
            "!c Does the deletion policy also shorten how long security events are kept?"],
      q_kw=["retention policy days", "!t legal hold", "auto delete attachments"]),
    # ----------------------------------------------------------------- account
    T("invite", "account",
      titles=["Invite teammates", "Adding people to your workspace"],
      noun="invitation", syns=["invite", "new member", "teammate"],
      task="invite colleagues to join the workspace",
      nav="Settings › Members › Invite",
      steps=["Open Settings › Members and click Invite",
             "Enter one or more e-mail addresses, separated by commas",
             "Pick a role for the invitees",
             "Send; each person gets an e-mail link that is valid for 7 days"],
      facts=["You can also share an invite link restricted to your company's e-mail domain.",
             "Pending invitations do not use a paid seat until they are accepted.",
             "Invitations can be resent or revoked from the Pending tab.",
             "Up to 100 addresses can be invited at once; larger teams should use CSV import or SCIM."],
      issues=[("The invite e-mail never arrives",
               "ask the person to check spam, or copy the invite link from the Pending tab"),
              ("The invite link says expired",
               "links expire after 7 days, so resend the invitation")],
      cmd="members invite <email,...> --role <role>",
      flags=[("--resend", "resend a pending invite"),
             ("--domain-link", "create a domain-restricted link")],
      change="Invite links can now be restricted to a company e-mail domain.",
      q_nl=["How do I add my coworkers to our Harborline account?",
            "!c Does an unanswered invite cost us a license?",
            "!t New hire says the join link is expired"],
      q_kw=["invite user", "bulk invite csv", "!t invite email not received"]),
    T("roles", "account",
      titles=["Roles and permissions", "Changing a member's role"],
      noun="role", syns=["permission level", "access role", "custom role"],
      task="give a member more or fewer permissions",
      nav="Settings › Members",
      steps=["Open Settings › Members",
             "Find the member and click their current role",
             "Choose Owner, Admin, Agent, Analyst or a custom role",
             "Confirm; the change applies immediately"],
      facts=["Agents answer conversations, Analysts view reports but cannot reply, and Admins manage settings but not billing unless they also hold the Billing admin role.",
             "Custom roles are available on Business and Enterprise.",
             "There must always be at least one Owner.",
             "Role changes are recorded in the audit log."],
      issues=[("I can't demote an owner",
               "promote someone else to Owner first, because a workspace always needs one"),
              ("The custom role option is missing",
               "custom roles need the Business plan or higher")],
      cmd="members role set <email> <role>",
      flags=[("--custom", "use a custom role by name"),
             ("--list-roles", "print available roles")],
      change="Custom roles can now include permission to manage integrations.",
      q_nl=["How do I make a colleague an administrator?",
            "!c What is the difference between an agent and an analyst?",
            "!c Can I create a role that sees reports but can't touch settings?"],
      q_kw=["change role admin", "!c custom role", "!c analyst permissions"]),
    T("offboarding", "account",
      titles=["Remove a member", "Offboarding someone who left"],
      noun="member", syns=["user", "teammate", "former employee"],
      task="remove someone's access and hand their work to a colleague",
      nav="Settings › Members",
      steps=["Open Settings › Members and select the person",
             "Choose Deactivate",
             "Pick a colleague to take over their open conversations and saved views",
             "Confirm; the person is signed out everywhere"],
      facts=["Deactivated members keep their name on past conversations for history.",
             "Their paid seat becomes free immediately.",
             "Reactivating restores access but not the conversations that were reassigned.",
             "API keys are workspace-owned and keep working after the person who created them is removed."],
      issues=[("Conversations are still assigned to the former employee",
               "bulk reassign them from the inbox filter Assigned to: deactivated members"),
              ("The Deactivate option is greyed out",
               "you can't deactivate the last owner or yourself")],
      cmd="members deactivate <email> --reassign-to <email>",
      flags=[("--keep-assignments", "leave conversations assigned"),
             ("--reactivate", "restore access")],
      change="Deactivation now offers to reassign saved views as well as conversations.",
      q_nl=["An agent quit, how do I cut off their access and give their open tickets to someone else?",
            "!c If I remove a user, do their old replies disappear?",
            "!t Tickets are still assigned to someone who left the company"],
      q_kw=["deactivate user", "offboard reassign conversations", "reactivate member"]),
    T("ownership", "account",
      titles=["Transfer workspace ownership", "Changing the workspace owner"],
      noun="workspace owner", syns=["ownership", "primary owner", "account owner"],
      task="hand the owner role to another member",
      nav="Settings › Workspace › Ownership",
      steps=["Make sure the new owner is already an Admin",
             "Open Settings › Workspace › Ownership",
             "Select the new owner and confirm with your password",
             "Ask the new owner to accept the transfer from the e-mail we send"],
      facts=["The previous owner becomes an Admin after the transfer.",
             "Billing and the payment method stay the same; update them separately if needed.",
             "If the owner has left the company and cannot act, support can transfer ownership after verifying with another admin and your company's domain.",
             "Only one person can hold the primary owner role."],
      issues=[("The transfer e-mail expired",
               "the new owner has 72 hours to accept, so start the transfer again"),
              ("The owner left and nobody can transfer",
               "contact support with proof of domain ownership")],
      cmd="workspace owner transfer <email>",
      flags=[("--force", "staff only, skip acceptance"),
             ("--cancel", "cancel a pending transfer")],
      change="Ownership transfers now require the new owner to accept.",
      q_nl=["Our founder owns the account but is stepping away, how do we hand it to the CTO?",
            "!t The person who set up our workspace has left and nobody is owner, what now?",
            "!c Does the payment card change when the owner changes?"],
      q_kw=["transfer ownership", "change owner", "!t owner left company"]),
    T("workspace-url", "account",
      titles=["Rename your workspace or change its URL", "Workspace name and subdomain"],
      noun="workspace URL", syns=["subdomain", "workspace name", "web address"],
      task="change the workspace display name or its harborline.io subdomain",
      nav="Settings › Workspace › General",
      steps=["Open Settings › Workspace › General",
             "Edit the display name",
             "Edit the subdomain; we check availability as you type",
             "Save; the old subdomain redirects for 30 days"],
      facts=["Subdomains are 3 to 30 characters: lowercase letters, numbers and hyphens.",
             "Changing the subdomain breaks bookmarks once the 30-day redirect ends.",
             "The chat widget and API are not affected by a subdomain change.",
             "The subdomain can be changed at most twice per month."],
      issues=[("The subdomain is taken",
               "pick another one; released subdomains become available again after 90 days"),
              ("Members land on a 404 page",
               "the 30-day redirect has ended, so share the new address")],
      cmd="workspace rename --name <name> --subdomain <slug>",
      flags=[("--check", "only check availability"),
             ("--no-redirect", "disable the redirect from the old address")],
      change="Workspace subdomain changes now redirect for 30 days.",
      q_nl=["We rebranded, how do I change our company name and web address in Harborline?",
            "!c Will our website chat break if we change the workspace address?",
            "!t Old links to our workspace give a 404 now"],
      q_kw=["rename workspace", "change subdomain", "!t subdomain taken"]),
    T("login-email", "account",
      titles=["Change your login e-mail", "Updating the address you sign in with"],
      noun="login e-mail", syns=["e-mail address", "account e-mail", "username"],
      task="change the address you use to sign in",
      nav="Profile › Account",
      steps=["Open Profile › Account",
             "Click Change e-mail and enter the new address",
             "Confirm with your current password",
             "Click the verification link sent to the new address within 24 hours"],
      facts=["The old address receives a notice and can cancel the change for 72 hours.",
             "If your workspace enforces SSO, the e-mail comes from your identity provider and must be changed there.",
             "The new address must not already belong to another Harborline account.",
             "Your conversations, settings and role stay the same."],
      issues=[("The address is already in use",
               "another account uses it, so delete or rename that account first"),
              ("Change e-mail is greyed out",
               "your workspace uses SSO or SCIM, so ask your IT team to change it in the identity provider")],
      cmd="members email set <old_email> <new_email>",
      flags=[("--skip-verification", "staff only"),
             ("--notify-old", "e-mail the previous address")],
      change="E-mail changes can now be cancelled from the old address.",
      q_nl=["I got married and my work address changed, how do I update it?",
            "!c Will I lose my settings if I change the address I log in with?",
            "!t It says the email is already taken when I try to change mine"],
      q_kw=["change login email", "update username email", "!t email in use"]),
    T("export", "account",
      titles=["Export workspace data", "Downloading all your conversations and contacts"],
      noun="data export", syns=["full export", "backup", "data download"],
      task="download a complete copy of your conversations, contacts and attachments",
      nav="Settings › Workspace › Export",
      steps=["Open Settings › Workspace › Export",
             "Choose what to include: conversations, contacts, attachments, reports",
             "Pick JSON or CSV",
             "Start the export; we e-mail a download link when it is ready"],
      facts=["Large exports are split into files of up to 2 GB.",
             "Download links are valid for 7 days.",
             "Only owners can export conversations with attachments.",
             "Exports are logged in the audit log."],
      issues=[("The export is stuck at 0%",
               "exports are queued, and large workspaces can wait up to 24 hours before theirs starts"),
              ("The download link expired",
               "links last 7 days, so run the export again")],
      cmd="export create --include <list> --format <json|csv>",
      flags=[("--since", "only data after this date"),
             ("--notify", "e-mail recipient")],
      change="Exports can now be limited to a date range.",
      q_nl=["How can we get a copy of all our customer conversations before switching tools?",
            "!c How long is the archive link good for?",
            "!t Our backup has been sitting at zero percent for hours"],
      q_kw=["export all data", "conversation export json", "!t export link expired"]),
    T("erasure", "account",
      titles=["Delete a contact's personal data", "Handling GDPR erasure requests"],
      noun="erasure request", syns=["GDPR deletion", "right to be forgotten", "data subject request"],
      task="permanently remove a customer's personal data when they ask",
      nav="Contacts › contact profile › Privacy",
      steps=["Open the contact's profile",
             "Choose Privacy › Erase personal data",
             "Confirm; names, e-mails, phone numbers and message bodies are removed",
             "Download the erasure receipt for your records"],
      facts=["Erasure is permanent and also removes the contact from backups within 35 days.",
             "Conversation metadata such as timestamps is kept in anonymised form for reporting.",
             "You can also export a contact's data to answer an access request.",
             "Bulk erasure is available through the API."],
      issues=[("An erased contact reappeared",
               "a new message from the same address creates a new contact, so block the address if needed"),
              ("The erase option is missing",
               "only admins can erase contacts")],
      cmd="contacts erase <contact_id>",
      flags=[("--dry-run", "list what would be removed"),
             ("--receipt", "save the erasure receipt")],
      change="Erasure receipts can now be downloaded as PDF.",
      q_nl=["A customer wants us to forget everything about them, how do we do that?",
            "!c Is personal data also removed from backups after deletion?",
            "!c How do we answer a request for all data we hold on one customer?"],
      q_kw=["gdpr delete contact", "right to be forgotten", "!c dsar export contact"]),
    T("notifications", "account",
      titles=["E-mail and desktop notifications", "Choosing which notifications you get"],
      noun="notification", syns=["alert", "e-mail digest", "desktop notification"],
      task="choose which e-mail, desktop and mobile alerts you receive",
      nav="Profile › Notifications",
      steps=["Open Profile › Notifications",
             "For each event (new conversation, mention, assignment) choose e-mail, desktop, mobile or off",
             "Set quiet hours if you don't want alerts at night",
             "Save your preferences"],
      facts=["Mentions always notify you in the app even when other alerts are off.",
             "A daily digest can replace individual e-mails.",
             "Quiet hours use your profile time zone.",
             "Desktop notifications need browser permission."],
      issues=[("No desktop notifications appear",
               "allow notifications for app.harborline.io in the browser settings"),
              ("Too many e-mails",
               "switch to the daily digest")],
      cmd="members notifications set <email> --event <event> --channel <channel>",
      flags=[("--digest", "daily or off"),
             ("--quiet-hours", "for example 20:00-07:00")],
      change="Quiet hours now also silence mobile push notifications.",
      q_nl=["How do I stop getting an email for every single new chat?",
            "Can I mute alerts in the evening?",
            "!t My browser never shows the pop-up alerts"],
      q_kw=["notification settings", "email digest", "quiet hours"]),
    T("locale", "account",
      titles=["Change language and time zone", "Regional settings"],
      noun="time zone", syns=["language", "locale", "date format"],
      task="change the interface language, time zone and date format",
      nav="Profile › Preferences",
      steps=["Open Profile › Preferences",
             "Pick a language",
             "Pick your time zone or let it follow the browser",
             "Choose a date format and save"],
      facts=["The interface is available in English, German, French, Spanish, Portuguese, Japanese and Dutch.",
             "Reports use the workspace time zone, not your personal one.",
             "Business hours for SLAs are set per inbox.",
             "The customer-facing widget language is set separately in the widget settings."],
      issues=[("Report dates are a day off",
               "reports use the workspace time zone, so change it in Settings › Workspace › General"),
              ("The interface switched to German",
               "the language follows the browser until you pick one explicitly")],
      cmd="workspace timezone set <tz>",
      flags=[("--member", "change one member's time zone"),
             ("--date-format", "for example DD/MM/YYYY")],
      change="Dutch is now available as an interface language.",
      q_nl=["How do I switch the app to French?",
            "!t Why do our reports show times in a different zone than my profile?",
            "!t The app suddenly appears in German"],
      q_kw=["change language", "timezone settings", "date format dd/mm"]),
    T("mobile-app", "account",
      titles=["The Harborline mobile app", "Answering conversations on your phone"],
      noun="mobile app", syns=["iPhone app", "Android app", "phone app"],
      task="install the agent app and reply to customers from your phone",
      nav="App Store or Google Play › Harborline",
      steps=["Install Harborline from the App Store or Google Play",
             "Sign in with your work e-mail or SSO",
             "Allow notifications when asked",
             "Pick which inboxes to follow on mobile"],
      facts=["The agent app needs iOS 16 or Android 10 or later.",
             "Push notifications for agents are separate from the push notifications your own app sends to customers.",
             "Admins can require a device passcode for the mobile app.",
             "Offline replies are queued and sent when the phone reconnects."],
      issues=[("Push alerts don't arrive on the phone",
               "check that notifications are allowed and the phone is not in a focus mode"),
              ("SSO login loops on Android",
               "update Android System WebView")],
      cmd="members devices list <email>",
      flags=[("--platform", "ios or android"),
             ("--wipe", "sign out the device")],
      change="The mobile app now supports offline replies.",
      q_nl=["Can our agents reply to customers from their phones?",
            "!c What phone OS version does the agent app need?",
            "!t I don't get alerts on my iPhone for new chats"],
      q_kw=["mobile app install", "agent app android", "!c device passcode"]),
    # ------------------------------------------------------------ integrations
    T("salesforce", "integrations",
      titles=["Connect Salesforce", "Salesforce sync"],
      noun="Salesforce integration", syns=["CRM sync", "Salesforce connector", "Salesforce app"],
      task="sync contacts and show Salesforce account data next to conversations",
      nav="Settings › Integrations › Salesforce",
      steps=["Open Settings › Integrations › Salesforce and click Connect",
             "Sign in with a Salesforce user that has API access",
             "Map Harborline contact fields to Salesforce Contact or Lead fields",
             "Choose one-way or two-way sync and start the initial sync"],
      facts=["Sync runs every 15 minutes; changes can also be pushed immediately from a contact.",
             "Salesforce Professional edition needs the API add-on.",
             "Conversations can be logged as Salesforce Tasks.",
             "The connected Salesforce user's permissions limit what is synced."],
      issues=[("API_DISABLED_FOR_ORG when connecting",
               "your Salesforce edition lacks API access, so enable the API add-on"),
              ("Fields are not updating",
               "check the field mapping and the connected user's field-level security")],
      cmd="integrations salesforce sync --now",
      flags=[("--direction", "one-way or two-way"),
             ("--mapping", "print the field mapping")],
      change="Salesforce sync can now log conversations as Tasks.",
      q_nl=["Can agents see the customer's CRM account details while replying?",
            "!c How often do contacts sync with our CRM?",
            "!t Connecting Salesforce fails with API_DISABLED_FOR_ORG"],
      q_kw=["salesforce connect", "crm field mapping", "!c log conversation task"]),
    T("hubspot", "integrations",
      titles=["Import contacts from HubSpot", "HubSpot contact import"],
      noun="HubSpot import", syns=["contact import", "HubSpot sync", "marketing CRM"],
      task="bring contacts and companies over from HubSpot",
      nav="Settings › Integrations › HubSpot",
      steps=["Open Settings › Integrations › HubSpot and authorise the app",
             "Pick the HubSpot lists to import",
             "Match HubSpot properties to contact fields",
             "Run the import and review the summary of created, updated and skipped records"],
      facts=["Contacts are matched on e-mail address; existing contacts are updated, not duplicated.",
             "Custom HubSpot properties can map to custom contact attributes.",
             "The import can be scheduled to repeat daily.",
             "Up to 500,000 contacts can be brought in per import."],
      issues=[("Many contacts were skipped",
               "skipped contacts have no e-mail address or an invalid one"),
              ("Company names are missing",
               "enable the association import option")],
      cmd="integrations hubspot import --list <list_id>",
      flags=[("--schedule", "daily or once"),
             ("--dry-run", "count records only")],
      change="HubSpot imports can now run on a daily schedule.",
      q_nl=["We keep our leads in HubSpot, can we pull them into Harborline?",
            "!c Will importing create duplicates of contacts we already have?",
            "!t Half the records were skipped during the import"],
      q_kw=["hubspot import", "import hubspot lists schedule", "!t skipped contacts"]),
    T("zapier", "integrations",
      titles=["Automate with Zapier", "Zapier triggers and actions"],
      noun="Zapier", syns=["automation", "Zap", "no-code workflow"],
      task="connect Harborline to thousands of other apps without code",
      nav="zapier.com › Harborline app",
      steps=["In Zapier, create a Zap and pick Harborline as the trigger app",
             "Choose a trigger such as New conversation or Contact tagged",
             "Sign in and pick the workspace",
             "Add an action in another app and turn the Zap on"],
      facts=["Triggers are instant because they use webhooks.",
             "Available actions include Create contact, Add note and Send message.",
             "Zaps run with the permissions of the member who connected them.",
             "If that member is deactivated, their Zaps stop."],
      issues=[("A Zap stopped running",
               "the member who connected it was deactivated, so reconnect with another account"),
              ("The trigger is not firing",
               "check that the inbox filter in the trigger matches")],
      cmd="integrations zapier connections list",
      flags=[("--member", "filter by connecting member"),
             ("--revoke", "remove a connection")],
      change="New Zapier trigger: Conversation closed.",
      q_nl=["Can I automatically add a row to a Google Sheet when a chat is closed?",
            "!t Why did all our automations stop after a colleague left?",
            "!c Which actions can a Zap perform in Harborline?"],
      q_kw=["zapier trigger", "!t zap stopped", "no code automation"]),
    T("jira", "integrations",
      titles=["Create Jira issues from conversations", "Jira integration"],
      noun="Jira integration", syns=["Jira issue", "bug ticket", "Atlassian"],
      task="turn a customer conversation into a Jira issue and track its status",
      nav="Settings › Integrations › Jira",
      steps=["Connect your Atlassian site in Settings › Integrations › Jira",
             "Open a conversation and choose More › Create Jira issue",
             "Pick the project and issue type; the conversation summary is pre-filled",
             "Submit; the issue status appears in the conversation sidebar"],
      facts=["When the Jira issue is resolved, the linked conversation is reopened so you can tell the customer.",
             "Jira Cloud and Jira Data Center 9+ are supported.",
             "A conversation can be linked to several issues.",
             "Attachments can be copied to the issue."],
      issues=[("The project list is empty",
               "the connected Atlassian user lacks the Create issue permission"),
              ("The status never updates",
               "Jira webhooks are blocked by your firewall, so allow Harborline's IP ranges")],
      cmd="integrations jira link <conversation_id> <issue_key>",
      flags=[("--create", "create a new issue"),
             ("--project", "project key")],
      change="Resolving a Jira issue now reopens linked conversations.",
      q_nl=["A customer reported a bug, how do I escalate it to engineering in Jira from the chat?",
            "!c Will we know when the developers fix the ticket?",
            "!t No projects show up when I try to create an issue"],
      q_kw=["jira create issue", "link jira ticket", "!t jira status sync"]),
    T("email-channel", "integrations",
      titles=["Connect a support mailbox", "Forwarding support@ to Harborline"],
      noun="support mailbox", syns=["e-mail channel", "forwarding address", "shared inbox"],
      task="receive e-mails sent to your support address as conversations",
      nav="Settings › Channels › E-mail",
      steps=["Open Settings › Channels › E-mail and click Add mailbox",
             "Copy the forwarding address, such as acme@in.harborline.io",
             "Set up automatic forwarding from support@yourcompany.com in Gmail or Outlook",
             "Send a test e-mail and check that it lands in the inbox"],
      facts=["Replies are sent from your own address once the sending domain is verified.",
             "Gmail requires confirming the forwarding address, and we show the confirmation code in the inbox.",
             "Attachments up to 25 MB are accepted.",
             "Auto-replies and bounces are filtered out."],
      issues=[("The forwarding confirmation never arrives",
               "look in the Harborline inbox itself, because the Gmail code is delivered there as a conversation"),
              ("Customers see replies from harborline.io",
               "verify your sending domain")],
      cmd="channels email add <address>",
      flags=[("--forwarding-address", "print the forwarding address"),
             ("--test", "send a test e-mail")],
      change="Outlook shared mailboxes can now be connected with OAuth.",
      q_nl=["How do I get emails to support@ourcompany.com to show up as tickets?",
            "!c What is the maximum attachment size for incoming mail?",
            "!t Gmail wants a confirmation code for forwarding, where do I find it?"],
      q_kw=["connect gmail forwarding", "support mailbox setup", "!c attachment size limit email"]),
    T("sending-domain", "integrations",
      titles=["Verify your sending domain", "SPF, DKIM and DMARC for outgoing e-mail"],
      noun="sending domain", syns=["DKIM", "SPF record", "e-mail authentication"],
      task="add DNS records so replies are delivered from your own domain",
      nav="Settings › Channels › E-mail › Domains",
      steps=["Open Settings › Channels › E-mail › Domains and add your domain",
             "Copy the two DKIM CNAME records and the SPF include into your DNS",
             "Wait for DNS to propagate, usually under an hour",
             "Click Verify"],
      facts=["The SPF include is include:spf.harborline.io.",
             "DMARC with p=quarantine or p=reject is supported once DKIM passes.",
             "Unverified domains send from replies@harborline.io on your behalf.",
             "Verification is rechecked daily, and a removed record pauses sending from that domain."],
      issues=[("SPF has too many lookups",
               "your SPF record exceeds 10 DNS lookups, so flatten it or remove unused includes"),
              ("DKIM is pending for days",
               "some DNS providers append the domain automatically, so enter only the host part")],
      cmd="channels email domain verify <domain>",
      flags=[("--records", "print required DNS records"),
             ("--recheck", "run the check again")],
      change="Domain verification now explains which DNS record is missing.",
      q_nl=["Our replies land in customers' spam folders, what DNS records do we need?",
            "!c What should the SPF include for Harborline be?",
            "!t DKIM has said pending for two days"],
      q_kw=["dkim cname", "!c spf include", "!c dmarc reject"]),
    T("chat-widget", "integrations",
      titles=["Install the chat widget", "Adding live chat to your website"],
      noun="chat widget", syns=["live chat", "web messenger", "website chat"],
      task="add Harborline live chat to your website",
      nav="Settings › Channels › Chat widget",
      steps=["Open Settings › Channels › Chat widget",
             "Customise colours, greeting and which pages show the launcher",
             "Copy the script snippet",
             "Paste it before the closing body tag on every page, or use the WordPress plugin"],
      facts=["The snippet loads asynchronously and adds about 40 KB.",
             "Logged-in visitors can be identified with a signed user hash so they see their history.",
             "The widget respects your business hours and shows an offline form outside them.",
             "Your Content Security Policy must allow widget.harborline.io."],
      issues=[("The widget doesn't appear",
               "your Content Security Policy blocks widget.harborline.io, so add it to script-src and connect-src"),
              ("Visitors see other people's history",
               "you are passing the same user id for everyone; use a unique id and the signed hash")],
      cmd="channels widget snippet",
      flags=[("--identity-secret", "show the secret for user hashes"),
             ("--domain", "allowed domain")],
      change="The chat widget script is now 30% smaller.",
      q_nl=["How do I put a live chat bubble on our website?",
            "!c Can returning customers see their previous chats when logged in to our site?",
            "!t The chat bubble isn't showing up on our site"],
      q_kw=["chat widget snippet", "wordpress plugin chat", "!t widget csp blocked"]),
    T("help-domain", "integrations",
      titles=["Use a custom domain for your help center", "Help center on your own domain"],
      noun="custom domain", syns=["CNAME", "help center domain", "vanity URL"],
      task="serve your public help center from your own domain",
      nav="Settings › Help center › Domain",
      steps=["Create a CNAME record from help.yourcompany.com to custom.harborline.io",
             "Open Settings › Help center › Domain and enter the hostname",
             "Wait while we issue a TLS certificate",
             "Switch the help center to the new domain"],
      facts=["Certificates are issued automatically by Let's Encrypt and renewed every 60 days.",
             "Apex domains like yourcompany.com are not supported, so use a subdomain.",
             "CAA records must allow letsencrypt.org.",
             "The old harborline.io address redirects to the custom domain."],
      issues=[("The certificate stays pending",
               "the CNAME is missing or a CAA record blocks Let's Encrypt"),
              ("Mixed content warnings",
               "images in articles are linked with http://, so switch them to https")],
      cmd="helpcenter domain set <hostname>",
      flags=[("--check-dns", "verify the CNAME"),
             ("--renew-cert", "force renewal")],
      change="Help center custom domains now include CAA diagnostics.",
      q_nl=["Can our knowledge base live at support.ourbrand.com?",
            "!c Do you handle the SSL certificate for our help site domain?",
            "!t The certificate for our help center domain has been pending for hours"],
      q_kw=["custom domain cname", "help center ssl", "!t caa letsencrypt"]),
    # --------------------------------------------------------------- incidents
    T("status-page", "incidents",
      titles=["Subscribe to status updates", "The Harborline status page"],
      noun="status page", syns=["system status", "incident updates", "uptime page"],
      task="get notified about outages and maintenance",
      nav="status.harborline.io",
      steps=["Go to status.harborline.io",
             "Click Subscribe to updates",
             "Choose e-mail, SMS, Slack or RSS",
             "Pick the components you care about, such as API, Chat widget or EU region"],
      facts=["Incidents are posted within 15 minutes of detection.",
             "Each component shows 90 days of uptime history.",
             "You can subscribe to a single region only.",
             "Status page updates are also posted to @harborlinestatus."],
      issues=[("Status e-mails never arrive",
               "confirm the subscription from the first e-mail we sent"),
              ("The status page is green but the app is down for us",
               "report it to support, because it may be a local or network issue")],
      cmd="status subscribe --email <address> --components <list>",
      flags=[("--region", "eu or us"),
             ("--unsubscribe", "stop updates")],
      change="Status subscriptions can now be limited to one region.",
      q_nl=["Where can I check if Harborline is down right now?",
            "Can we get outage alerts in our Slack?",
            "!t Everything is broken for us but the status site says all good"],
      q_kw=["status page subscribe", "outage alerts", "!c uptime history"]),
    T("sla-credit", "incidents",
      titles=["Service level agreement and credits", "Requesting an SLA credit"],
      noun="SLA credit", syns=["service credit", "uptime guarantee", "SLA"],
      task="claim a credit when uptime drops below the guarantee",
      nav="Settings › Billing › SLA",
      steps=["Check the monthly uptime figure in Settings › Billing › SLA",
             "If it is below your plan's guarantee, click Request credit",
             "Select the affected incidents",
             "Submit within 30 days of the end of the month"],
      facts=["Business guarantees 99.9% monthly uptime and Enterprise 99.95%.",
             "Credits are 10% of the monthly fee per 0.1% below the guarantee, up to 50%.",
             "Scheduled maintenance announced 72 hours ahead does not count as downtime.",
             "Credits are applied to the next invoice and are not paid out in cash."],
      issues=[("The Request credit button is disabled",
               "uptime met the guarantee or the 30-day window has passed"),
              ("The credit is smaller than expected",
               "maintenance windows are excluded from the calculation")],
      cmd="billing sla credit request --month <yyyy-mm>",
      flags=[("--incidents", "incident ids"),
             ("--preview", "show the computed credit")],
      change="SLA reports now break downtime down by component.",
      q_nl=["We had an outage last month, are we owed money back?",
            "!c What uptime do you promise on the Enterprise plan?",
            "!c Does planned maintenance count against the uptime guarantee?"],
      q_kw=["sla credit request", "!c uptime guarantee 99.9", "!c service credit calculation"]),
    T("maintenance", "incidents",
      titles=["Scheduled maintenance", "How maintenance windows work"],
      noun="maintenance window", syns=["planned maintenance", "scheduled downtime", "maintenance"],
      task="know when planned maintenance happens and what it affects",
      nav="status.harborline.io › Scheduled maintenance",
      steps=["Check status.harborline.io for upcoming maintenance",
             "Subscribe to get notices 72 hours in advance",
             "Pause bulk imports or API jobs during the window",
             "Watch for the all-clear on the status page"],
      facts=["Most maintenance causes no downtime; windows with expected impact are announced 72 hours ahead.",
             "During maintenance the API may return 503 with the error code maintenance and a Retry-After header.",
             "The chat widget queues visitor messages and delivers them when the window ends.",
             "Enterprise customers can request a maintenance calendar export."],
      issues=[("The API returns 503 maintenance",
               "a maintenance window is in progress, so retry after the Retry-After interval"),
              ("We missed the maintenance notice",
               "subscribe to the status page with the components you use")],
      cmd="status maintenance list",
      flags=[("--upcoming", "only future windows"),
             ("--ics", "export as a calendar file")],
      change="Maintenance windows can now be exported as an iCalendar feed.",
      q_nl=["When do you do planned downtime and will we be warned beforehand?",
            "!c What happens to chats from website visitors during maintenance?",
            "!t The API gave us 503 with code maintenance"],
      q_kw=["maintenance schedule", "maintenance calendar ics", "!t 503 maintenance"]),
    T("urgent-support", "incidents",
      titles=["Report an outage or urgent problem", "Getting urgent help from support"],
      noun="urgent support request", syns=["outage report", "P1 ticket", "emergency support"],
      task="reach support quickly when something is broken for your team",
      nav="Help › Contact support",
      steps=["Check status.harborline.io first to see if it is a known incident",
             "Open Help › Contact support and choose Urgent: service unavailable",
             "Include the request ID, affected workspace and the time the problem started",
             "Call the 24/7 phone line as well if you are an Enterprise customer"],
      facts=["Urgent requests are answered within 1 hour on Business and 15 minutes on Enterprise.",
             "Screenshots and HAR files help us diagnose browser problems.",
             "Support can see your workspace only if you grant temporary access.",
             "Phone support is Enterprise-only."],
      issues=[("I can't sign in to open a ticket",
               "e-mail support@harborline.io from your account address and it becomes a ticket"),
              ("Support asks for a HAR file",
               "record one in the Network tab of your browser's developer tools")],
      cmd="support ticket create --priority urgent",
      flags=[("--workspace", "affected workspace"),
             ("--grant-access <hours>", "allow support to view the workspace")],
      change="Urgent tickets now show the current response time target.",
      q_nl=["Nothing loads for our team, how do I get someone from support on it right now?",
            "!c How fast does support respond to emergencies on the Business plan?",
            "!t How do I record the browser network file support asked for?"],
      q_kw=["urgent ticket", "!c p1 support phone", "!t har file"]),
    T("severity", "incidents",
      titles=["Incident severity levels", "How we classify incidents"],
      noun="severity level", syns=["incident priority", "SEV1", "impact classification"],
      task="understand what SEV1, SEV2 and SEV3 mean for your workspace",
      nav="status.harborline.io › Incident history",
      steps=["Open the incident on status.harborline.io",
             "Look at the severity label next to the title",
             "Check the affected components and regions",
             "Follow updates until the incident is marked resolved"],
      facts=["SEV1 means a core feature is unavailable for many customers, and updates are posted every 30 minutes.",
             "SEV2 means a feature is degraded or unavailable for a subset of customers, with updates every hour.",
             "SEV3 is a minor issue with a workaround.",
             "Every SEV1 gets a public postmortem within 5 business days."],
      issues=[("The severity changed during the incident",
               "severity is re-evaluated as the impact becomes clearer"),
              ("There is no postmortem for a SEV2",
               "postmortems are only guaranteed for SEV1 incidents")],
      cmd="incidents list --severity <sev>",
      flags=[("--since", "start date"),
             ("--region", "eu or us")],
      change="Incident pages now show how severity was assessed.",
      q_nl=["!c What's the difference between a SEV1 and a SEV2 incident?",
            "!c How often do you post updates during a major outage?",
            "!t Do all incidents get a public write-up afterwards?"],
      q_kw=["!c sev1 definition", "incident severity", "!c postmortem sla"]),
    T("performance", "incidents",
      titles=["The app is slow", "Troubleshooting slow performance"],
      noun="performance", syns=["slowness", "loading time", "lag"],
      task="find out why the inbox or dashboard loads slowly",
      nav="Help › Diagnostics",
      steps=["Open Help › Diagnostics and run the connection test",
             "Compare the result with the status page",
             "Try a private window without browser extensions",
             "Send the diagnostic report to support if it is still slow"],
      facts=["Reports covering more than 12 months are computed in the background and can take a minute.",
             "Inbox views with more than 50,000 open conversations load more slowly, so archive old ones.",
             "Browser extensions that rewrite pages, such as ad blockers, often slow the app down.",
             "The EU region is served from Frankfurt and the US region from Virginia."],
      issues=[("The inbox takes 20 seconds to load",
               "the view has too many open conversations, so add a filter or archive"),
              ("Everything is slow only on office Wi-Fi",
               "a proxy is inspecting TLS traffic, so exclude *.harborline.io")],
      cmd="diagnostics run --member <email>",
      flags=[("--include-network", "add latency traces"),
             ("--send", "attach to a support ticket")],
      change="The diagnostics page now measures latency to both regions.",
      q_nl=["The inbox is really laggy today, is it on your side or ours?",
            "!c Why do yearly reports take so long to load?",
            "!t Harborline crawls only when we are in the office"],
      q_kw=["app slow", "diagnostics connection test", "!t inbox loading slow"]),
    T("postmortems", "incidents",
      titles=["Incident history and postmortems", "Reading past incident reports"],
      noun="postmortem", syns=["incident report", "root cause analysis", "post-incident review"],
      task="find the root cause write-up for a past incident",
      nav="status.harborline.io › History",
      steps=["Open status.harborline.io and click History",
             "Filter by month or component",
             "Open the incident to read the timeline",
             "Follow the Postmortem link when one is published"],
      facts=["Postmortems follow a blameless format: summary, impact, timeline, root cause and follow-up actions.",
             "Incident history goes back 24 months.",
             "Enterprise customers can request a private RCA for incidents that affected them.",
             "Follow-up actions are tracked until completed and their status is updated on the postmortem."],
      issues=[("The postmortem link is missing",
               "it is published within 5 business days for SEV1 incidents"),
              ("An incident older than two years is not listed",
               "ask your account manager for archived reports")],
      cmd="incidents postmortem <incident_id>",
      flags=[("--format", "pdf or markdown"),
             ("--private-rca", "request a customer-specific RCA")],
      change="Postmortems now list the status of each follow-up action.",
      q_nl=["Where can I read the root cause analysis for last month's outage?",
            "!c Can our compliance team get a private RCA for an incident?",
            "!c How far back does your incident archive go?"],
      q_kw=["postmortem list", "!c rca request", "incident history"]),
    T("uptime-report", "incidents",
      titles=["Download an uptime report", "Monthly availability reports"],
      noun="uptime report", syns=["availability report", "SLA report", "monthly uptime"],
      task="download monthly availability figures for audits or vendor reviews",
      nav="Settings › Billing › SLA › Reports",
      steps=["Open Settings › Billing › SLA",
             "Select the Reports tab",
             "Pick the month and region",
             "Download the PDF"],
      facts=["Reports list monthly uptime per component and the incidents that affected it.",
             "Figures are computed from external synthetic checks that run every minute.",
             "Reports are available from the 3rd day of the following month.",
             "Our SOC 2 report can be requested from the Trust Center."],
      issues=[("The current month is missing",
               "reports are generated after the month ends"),
              ("Uptime differs from our own monitoring",
               "our figure excludes announced maintenance")],
      cmd="status uptime report --month <yyyy-mm>",
      flags=[("--region", "eu or us"),
             ("--format", "pdf or csv")],
      change="Uptime reports can now be downloaded as CSV.",
      q_nl=["Our vendor review needs availability numbers for the last quarter, where are they?",
            "!c How do you measure availability?",
            "!c Can I get your SOC 2 report?"],
      q_kw=["uptime report pdf", "availability last month", "!c soc 2 report"]),
]


# ---------------------------------------------------------------------------
# Hard-negative pairs: two near-duplicate pages rendered from one template that
# differ only in the crucial detail. Each side has its own queries, which are
# judged relevant to that side only, so a system must notice the detail.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    name: str
    slots: dict[str, str]
    q_nl: tuple[str, ...]
    q_kw: tuple[str, ...]


@dataclass(frozen=True)
class Pair:
    id: str
    cls: str
    detail: str
    title: str
    text: str
    sides: tuple[Side, Side]


def S(name: str, q_nl: list[str], q_kw: list[str], **slots: str) -> Side:
    return Side(name=name, slots=dict(slots), q_nl=tuple(q_nl), q_kw=tuple(q_kw))


PAIRS: list[Pair] = [
    Pair("pricing", "billing", "EU pricing (EUR, VAT) vs US pricing (USD, sales tax)",
         "Harborline pricing for the {region} region ({cur})",
         "Prices on this page apply to workspaces hosted in the {region_long} region and billed in {cur_name}. "
         "Team costs {team} per seat per month and Business costs {business} per seat per month; Enterprise is quoted individually. "
         "Paying annually saves the equivalent of two months. {tax} Your data is stored in {dc}. {payment} "
         "Seat prices are the same for agents and admins, and read-only guests are free.",
         (S("eu",
            ["How much is the Business plan per seat for a company based in Spain?",
             "Do prices for European workspaces include VAT?",
             "Can we pay by SEPA direct debit for our Frankfurt-hosted workspace?"],
            ["pricing eu eur", "business plan price vat"],
            region="EU", region_long="European Union", cur="EUR", cur_name="euros",
            team="€19", business="€39",
            tax="Prices exclude VAT; VAT is added at your country's rate unless you provide a valid VAT number, in which case reverse charge applies.",
            dc="Frankfurt, Germany, with backups in Dublin",
            payment="SEPA Direct Debit and cards are accepted."),
          S("us",
            ["What does the Team plan cost per user for a startup in Texas?",
             "Is sales tax added to the price for American customers?",
             "Can we pay for our Virginia-hosted workspace by ACH debit?"],
            ["pricing usd", "us pricing sales tax"],
            region="US", region_long="United States", cur="USD", cur_name="US dollars",
            team="$20", business="$42",
            tax="Prices exclude sales tax, which is added in the states where we are registered to collect it.",
            dc="Ashburn, Virginia, with backups in Oregon",
            payment="ACH debit and cards are accepted."))),
    Pair("contacts-api", "api", "Contacts API v1 (api_key parameter, offset paging, deprecated) vs v2 (bearer header, cursors)",
         "Contacts API reference ({ver})",
         "The {ver} Contacts endpoints live under {base}. Authenticate by {auth}. "
         "List contacts with GET {base}/contacts; results are paginated with {paging}, at most {maxpage} records per page. "
         "Create a contact with POST {base}/contacts and a JSON body containing email, name and custom attributes. "
         "Phone numbers are {phone}. "
         "Each contact has an id, email, name, phone, created_at, updated_at and a custom_attributes object. "
         "Update a contact with PATCH {base}/contacts/{{id}}; deleting one with DELETE {base}/contacts/{{id}} is permanent. "
         "Errors use the standard format with error.code and error.message. {status}",
         (S("v1",
            ["When is the old contacts API being switched off?",
             "How does offset paging work on the legacy contacts endpoints?",
             "Does the version 1 contacts endpoint validate phone numbers?"],
            ["v1 contacts api_key param", "contacts v1 offset limit"],
            ver="v1", base="/v1", auth="passing the key in the api_key query parameter",
            paging="the offset and limit parameters", maxpage="100",
            phone="stored as free text without validation",
            status="API v1 is deprecated and will be switched off on 30 June 2025; new integrations should use v2."),
          S("v2",
            ["What phone number format does the current contacts API expect?",
             "How should a brand-new integration authenticate to the contacts endpoints?",
             "What's the page size limit when listing contacts in the newest API version?"],
            ["v2 contacts cursor", "contacts api e.164"],
            ver="v2", base="/v2", auth="sending the key as a bearer token in the Authorization header",
            paging="an opaque cursor returned in next_cursor", maxpage="200",
            phone="validated and must use E.164 format, for example +14155550123",
            status="API v2 is the current version and receives all new features."))),
    Pair("webhook-signature", "api", "webhook signatures v1 (HMAC-SHA1, no timestamp) vs v2 (HMAC-SHA256 with timestamp)",
         "Verifying webhook signatures ({scheme})",
         "Every webhook request is signed so you can confirm it came from Harborline. "
         "With {scheme}, the signature is sent in the {header} header. "
         "Compute {algo} over {signed} using your endpoint's signing secret, then compare the result with the header value using a constant-time comparison. "
         "{replay} {status}",
         (S("v1",
            ["Our old webhook endpoint uses SHA1, how do I check the signature?",
             "Which header has the signature for legacy webhook endpoints?",
             "Do the original webhook signatures protect against replayed requests?"],
            ["webhook hmac sha1", "x-harborline-signature header"],
            scheme="v1 signatures", header="X-Harborline-Signature",
            algo="an HMAC-SHA1 hex digest", signed="the raw request body",
            replay="v1 signatures carry no timestamp, so they do not protect against replayed requests.",
            status="v1 signing is legacy and is only used by endpoints created before 2023."),
          S("v2",
            ["How do I protect my webhook receiver from replayed requests?",
             "What string is signed with SHA-256 for webhooks?",
             "Which header carries the timestamp for signed callbacks?"],
            ["harborline-signature-256", "webhook signature timestamp"],
            scheme="v2 signatures", header="Harborline-Signature-256",
            algo="an HMAC-SHA256 hex digest",
            signed="the value of the Harborline-Timestamp header, a full stop and the raw request body",
            replay="Reject requests whose timestamp is more than five minutes old to prevent replay attacks.",
            status="v2 signing is the default for all endpoints created since 2023."))),
    Pair("postmortem-webhooks", "incidents", "Q3 2024 postmortem (Kafka rebalance, US delays) vs Q4 2024 (expired TLS certificate, EU failures)",
         "Postmortem: webhook delivery {what}, {quarter} 2024",
         "Summary: on {date}, webhook deliveries {impact} for {duration}. {scope} "
         "Root cause: {cause}. Detection: {detect}. Resolution: {fix}. Follow-up actions: {followup}. "
         "No data was lost; every affected event was delivered once service recovered. "
         "The Events API and the delivery log stayed available throughout, so customers could reconcile events themselves. "
         "This postmortem follows our blameless format and all times are in UTC. "
         "Customers who need a private RCA can ask their account manager. We are sorry for the disruption.",
         (S("q3",
            ["What went wrong with Kafka during the August webhook slowdown?",
             "Why were US webhooks delayed in the summer of 2024?",
             "How many customers were hit by the Q3 2024 delivery incident?"],
            ["postmortem q3 2024 webhooks", "kafka rebalance incident"],
            what="delays", quarter="Q3", date="14 August 2024",
            impact="were delayed by up to 40 minutes", duration="3 hours 12 minutes",
            scope="About 18% of workspaces in the US region were affected.",
            cause="a Kafka broker upgrade triggered a partition rebalance that stalled two delivery consumers",
            detect="queue lag alerts fired 9 minutes after the rebalance",
            fix="we restarted the stuck consumers and pinned the partition assignment",
            followup="staged broker upgrades and a lag-based autoscaler"),
          S("q4",
            ["What caused the webhook outage in early November where nothing was delivered for almost two hours?",
             "Was the expired certificate incident caught by your monitoring?",
             "Which region lost webhook deliveries in Q4 2024?"],
            ["q4 postmortem tls cert", "eu webhook outage november"],
            what="failures", quarter="Q4", date="3 November 2024",
            impact="failed entirely", duration="1 hour 47 minutes",
            scope="All workspaces in the EU region were affected.",
            cause="an expired TLS certificate on the outbound delivery proxy made every connection to customer endpoints fail",
            detect="customer reports arrived before our alert, because failed deliveries were counted as retries",
            fix="we renewed the certificate and replayed the failed events",
            followup="certificate expiry monitoring and alerting on retry volume"))),
    Pair("refund", "billing", "refund window: 14 days on monthly plans vs 30 days on annual plans",
         "Refund policy for {kind} plans",
         "If you are not satisfied, you can ask for a refund within {days} days of {start}. {scope} "
         "Refunds go back to the original payment method and take 5 to 10 business days to appear. {partial} "
         "Add-ons bought during the period are refunded on the same terms. "
         "To request a refund, contact billing support from the workspace owner's e-mail address.",
         (S("monthly",
            ["We pay month to month, how long do we have to get our money back?",
             "We are in our second month of paying monthly, can we still get our money back?",
             "Is there a pro-rata refund for the unused days of this month?"],
            ["refund 14d", "refund monthly plan"],
            kind="monthly", days="14", start="the first payment",
            scope="The policy covers the first month of a monthly subscription only; later monthly renewals are not refundable.",
            partial="There are no partial refunds for unused days in a month."),
          S("annual",
            ["We renewed our yearly subscription by mistake, can we get a refund?",
             "How many days do we have to ask for a refund on annual billing?",
             "Are unused months refunded if we leave halfway through a yearly term?"],
            ["refund 30 days annual", "annual renewal refund"],
            kind="annual", days="30", start="the start of each annual term",
            scope="The policy covers the first payment and every yearly renewal.",
            partial="After 30 days unused months are not refunded, but you can switch off auto-renewal at any time."))),
    Pair("sso-plan", "security", "SSO on Business (paid SAML add-on, no SCIM, not enforceable) vs Enterprise (included, OIDC, SCIM, enforced)",
         "Single sign-on on the {plan} plan",
         "Single sign-on lets members sign in with your identity provider instead of a Harborline password. "
         "On the {plan} plan, SAML 2.0 single sign-on {availability}. {protocols} {scim} {enforce} "
         "Setup takes about 15 minutes with Okta, Microsoft Entra ID or Google Workspace; the ACS URL and Entity ID are shown under Settings › Security › Single sign-on. "
         "Owners can always use the recovery link if the identity provider is unavailable.",
         (S("business",
            ["Does single sign-on cost extra if we're on Business?",
             "We pay for the SSO add-on, can we make Okta login mandatory for all agents?",
             "How are users created with SSO on the Business plan if there is no SCIM?"],
            ["sso business add-on", "saml business plan price"],
            plan="Business", availability="is available as a paid add-on at $4 per seat per month",
            protocols="Only SAML is supported; OpenID Connect is not available.",
            scim="Users are invited manually or created on first login (just-in-time provisioning); SCIM is not included.",
            enforce="SSO can be offered as an option but cannot be enforced for all members."),
          S("enterprise",
            ["Is OIDC supported for single sign-on on Enterprise?",
             "Do we get SCIM provisioning included with the top plan?",
             "How do I disable password logins and make everyone use SSO?"],
            ["sso enterprise scim", "enforce sso enterprise"],
            plan="Enterprise", availability="is included at no extra cost",
            protocols="Both SAML and OpenID Connect are supported.",
            scim="SCIM 2.0 provisioning and deprovisioning are included.",
            enforce="Admins can enforce SSO so that password sign-in is disabled for everyone except owners."))),
    Pair("audit-plan", "security", "audit log on Business (90 days, CSV export) vs Enterprise (400 days, SIEM streaming and API)",
         "Audit log on the {plan} plan",
         "{plan} workspaces keep audit events for {days}. Events can be viewed and filtered in Settings › Security › Audit log. "
         "They include sign-ins, permission changes, API key actions, exports and billing changes, each with the actor, IP address and timestamp. "
         "Audit events cannot be edited or deleted, even by owners. "
         "{stream} Events older than the retention period are deleted permanently. {more}",
         (S("business",
            ["How long are audit events stored on the Business plan?",
             "We're on Business, is our security log kept for a full year?",
             "Is CSV the only way to download audit events on Business?"],
            ["audit log retention 90 days", "business audit export csv"],
            plan="Business", days="90 days",
            stream="Exports are limited to CSV downloads of up to 10,000 events at a time.",
            more="To keep events longer, download them regularly."),
          S("enterprise",
            ["Our security team wants audit events piped into Datadog automatically, is that possible?",
             "How many days of audit history do Enterprise customers get?",
             "Is there an API to pull audit events into our SIEM?"],
            ["audit log siem stream", "audit retention 400 days"],
            plan="Enterprise", days="400 days",
            stream="Events can also be streamed in real time to Splunk, Datadog or an S3 bucket, and the Audit Log API returns them as JSON.",
            more="Longer retention of up to 7 years is available as an add-on."))),
    Pair("rate-limits", "api", "API rate limits: 100 requests/min on Free/Team/Business vs 1,000 on Enterprise",
         "API rate limits: {tier}",
         "Workspaces on {plans} can make {rpm} requests per minute to the REST API, with short bursts of up to {burst} requests per second. "
         "{bulk} When you exceed the limit the API returns 429 with a Retry-After header. {raising}",
         (S("standard",
            ["How many API calls per minute can a Team workspace make?",
             "Can support raise our request limit while we stay on Business?",
             "What's the per-second burst allowance for the REST API on non-Enterprise plans?"],
            ["rate limit 100 rpm", "team plan api limit"],
            tier="Free, Team and Business", plans="the Free, Team and Business plans",
            rpm="100", burst="20",
            bulk="Bulk endpoints count each batch as one request.",
            raising="Limits cannot be raised on these plans; upgrade to Enterprise for higher limits."),
          S("enterprise",
            ["Our contract includes a dedicated account manager, how many API requests per minute do we get?",
             "Can our account manager increase the throttling threshold?",
             "How many records per day can the dedicated bulk import endpoint handle?"],
            ["enterprise rate limit", "bulk import 1m records"],
            tier="Enterprise", plans="the Enterprise plan", rpm="1,000", burst="100",
            bulk="Bulk endpoints count each batch as one request, and a dedicated bulk import endpoint processes up to 1 million records per day.",
            raising="Limits can be raised further on request through your account manager."))),
    Pair("chatops", "integrations", "Slack integration vs Microsoft Teams integration",
         "{app} integration",
         "Connect {app} to get Harborline notifications in {where}. An admin installs the app from {store} and picks which inbox events are posted. "
         "Agents can reply to customers directly from {app} using {reply}. {extra} Notifications respect each member's quiet hours.",
         (S("slack",
            ["Can I answer customers from a Slack thread?",
             "How do we turn a Slack Connect channel with a client into an inbox?",
             "Which directory do we install the Harborline Slack app from?"],
            ["slack notifications channel", "slack connect inbox"],
            app="Slack", where="Slack channels", store="the Slack App Directory",
            reply="the Reply button in the message thread",
            extra="Shared channels with customers (Slack Connect) can be turned into a Harborline inbox."),
          S("teams",
            ["Our IT has to approve apps in Microsoft 365, what do they need to do for Harborline?",
             "Can agents respond to chats from Teams?",
             "Where do I install the Harborline app for Teams?"],
            ["teams integration adaptive card", "ms teams notifications"],
            app="Microsoft Teams", where="Teams channels", store="the Teams admin center or AppSource",
            reply="an Adaptive Card reply form",
            extra="Your Microsoft 365 admin may need to approve the app before members can use it."))),
    Pair("push", "integrations", "mobile SDK push notifications: iOS (APNs .p8 key) vs Android (FCM)",
         "Push notifications for your {platform} app",
         "The Harborline mobile SDK can notify your app's users when an agent replies. For {platform}, {credential}. "
         "Upload it in Settings › Channels › Mobile SDK › {platform}. {token} "
         "Push notifications reach only users who have opened a conversation from your app at least once. "
         "The notification shows the agent's name and the first 100 characters of the reply, and tapping it opens the conversation. "
         "After uploading the credential, send a test notification from the Mobile SDK page. {extra}",
         (S("ios",
            ["Where do I upload the .p8 key for push notifications?",
             "Do I need a Team ID for Apple push with your SDK?",
             "Why don't push messages arrive on our development builds?"],
            ["apns p8 upload", "ios push sdk"],
            platform="iOS",
            credential="create an APNs authentication key (.p8 file) in your Apple Developer account and note the Key ID and Team ID",
            token="Register for remote notifications and pass the device token to Harborline.setPushToken() after login.",
            extra="Development builds need the APNs sandbox environment selected."),
          S("android",
            ["What Firebase credentials do you need for push?",
             "Which notification channel id does your SDK create?",
             "Where do I hand the FCM registration token to your SDK in my Android app?"],
            ["fcm push android", "google-services.json harborline"],
            platform="Android",
            credential="add Firebase Cloud Messaging to your project, download google-services.json and create a service account key for the FCM HTTP v1 API",
            token="Pass the FCM registration token to Harborline.setPushToken() in onNewToken().",
            extra="On Android 8 and later the SDK creates a notification channel with the id harborline_messages."))),
    Pair("environments", "api", "sandbox (hl_test_ keys, not billed, reset every 30 days) vs production (hl_live_ keys, billed)",
         "The {env} environment",
         "The {env} environment {purpose}. Keys for it start with {prefix}. "
         "Both environments use the same API endpoints and the same SDKs; only the key decides where a request goes. "
         "Switch between them with the environment toggle in the top bar of the web app. "
         "Settings, inboxes and webhook endpoints are configured separately in each environment. "
         "{billing} {data} {webhooks}",
         (S("sandbox",
            ["Can I test sending SMS without being charged?",
             "Why did all our test data disappear after a month?",
             "Are emails sent from the test environment delivered to real customers?"],
            ["hl_test key", "sandbox reset"],
            env="sandbox", purpose="is a separate copy of Harborline for building and testing integrations",
            prefix="hl_test_",
            billing="Nothing sent from the sandbox is billed, and SMS and e-mails are delivered only to verified test recipients.",
            data="Sandbox data is reset every 30 days.",
            webhooks="Webhooks in the sandbox are sent from sandbox.harborline.io."),
          S("production",
            ["What prefix do live keys have?",
             "Which host do live webhooks come from so we can allow it in our firewall?",
             "Is live customer data backed up, and how often?"],
            ["production keys hl_live", "live webhook source host"],
            env="production", purpose="is where your live customers and agents work",
            prefix="hl_live_",
            billing="Messages are billed against your plan and delivered to anyone.",
            data="Production data is never reset and is backed up every hour.",
            webhooks="Webhooks are sent from api.harborline.io; make sure your firewall allows our published IP ranges."))),
    Pair("workspace-removal", "account", "deactivating a workspace (reversible for 60 days) vs deleting it (final after 7 days)",
         "{Action} a workspace",
         "{Acting} a workspace {effect}. {reversal} {billing} "
         "Only the workspace owner can do this, from Settings › Workspace › Danger zone. "
         "Before you continue, export any data you want to keep from Settings › Workspace › Export. "
         "All members are notified by e-mail, and the chat widget, integrations, API keys and webhooks stop working at once. "
         "{data}",
         (S("deactivate",
            ["We're pausing the business for a few months, can we suspend the account and come back later?",
             "How long can a suspended workspace be restored?",
             "Does billing stop while our workspace is switched off?"],
            ["deactivate workspace 60 days", "pause workspace billing"],
            Action="Deactivate", Acting="Deactivating",
            effect="signs everyone out and stops all channels, but keeps your data",
            reversal="You can reactivate it within 60 days from the owner's account and everything comes back as it was.",
            billing="Billing pauses while the workspace is deactivated.",
            data="After 60 days a deactivated workspace is deleted permanently."),
          S("delete",
            ["If I delete our workspace by accident, can support get it back?",
             "How long do I have to cancel the removal of a workspace?",
             "Do you keep backups after we permanently close our workspace?"],
            ["delete workspace permanently", "cancel workspace deletion"],
            Action="Delete", Acting="Deleting",
            effect="schedules all conversations, contacts, settings and files for permanent removal",
            reversal="For 7 days you can cancel the deletion; after that it cannot be undone, even by support.",
            billing="The subscription is cancelled and no refund is issued for the remaining period.",
            data="Backups are purged within 35 days of deletion."))),
    Pair("seat-billing", "billing", "adding seats on monthly plans (charged immediately, prorated) vs annual plans (quarterly true-up)",
         "Adding seats on a {kind} plan",
         "Seats are added from Settings › Billing › Seats, or automatically when someone accepts an invite and no free seat is left. "
         "Every active member, including admins, uses a seat; read-only guests are free. "
         "When you add seats on a {kind} plan, {charge}. {timing} Removing seats {removal} "
         "The seat price is the same as on the rest of your subscription, and seat changes appear as separate lines on the invoice.",
         (S("monthly",
            ["We pay monthly and just added three users, when are they charged?",
             "If I remove seats on a monthly subscription, when does it apply?",
             "We just hired two agents and we are not on a yearly contract, when will the extra seats show up on a bill?"],
            ["add seats monthly prorated", "seat charge immediately"],
            kind="monthly", charge="you are charged immediately for the remaining days of the current month",
            timing="The new seats then renew with the rest of the subscription on your monthly billing date.",
            removal="takes effect at the next monthly renewal."),
          S("annual",
            ["How does the quarterly true-up work for extra licenses?",
             "Can I remove seats in the middle of our yearly contract?",
             "We're on a yearly contract, when will we be invoiced for the new agents?"],
            ["true-up annual seats", "annual plan add users"],
            kind="annual", charge="you are not charged straight away; instead we run a quarterly true-up",
            timing="At the end of each quarter we invoice the added seats, prorated for the rest of the annual term.",
            removal="is only possible at the annual renewal."))),
    Pair("2fa-method", "security", "two-factor with an authenticator app (30-second codes, works everywhere) vs SMS (10-minute codes, not available in some countries)",
         "Two-factor authentication with {method}",
         "Two-factor authentication protects your account even if your password leaks. "
         "Using {method} is one way to add this second step when signing in. {setup} "
         "Once it is set up, Harborline asks for a six-digit code after your password on every new device, "
         "and trusted devices are remembered for 30 days. Codes {expiry}. {availability} {security} "
         "If you lose access to your second factor, use one of your recovery codes. "
         "You can switch methods from Profile › Security.",
         (S("app",
            ["Which apps can I use to generate MFA codes?",
             "Do the six-digit codes from Google Authenticator work when my phone has no signal?",
             "Can I use 1Password for my two-factor codes?"],
            ["2fa authenticator qr code", "totp 30 seconds"],
            method="an authenticator app",
            setup="Scan the QR code with an app such as Google Authenticator, 1Password or Authy and enter the six-digit code to confirm.",
            expiry="change every 30 seconds and work offline",
            availability="Authenticator apps work in every country.",
            security="This is the method we recommend."),
          S("sms",
            ["Can I get my login code by text message instead?",
             "My colleague in China never receives the 2FA text, why?",
             "How long is a texted login code valid?"],
            ["2fa sms code", "sms 2fa voip number"],
            method="text message (SMS)",
            setup="Enter your mobile number and the six-digit code we text you.",
            expiry="are valid for 10 minutes",
            availability="SMS codes cannot be delivered to numbers in some countries, including China and Iran, or to VoIP numbers.",
            security="SMS is less secure because numbers can be hijacked through SIM swapping."))),
    Pair("payment-method", "billing", "paying by credit card (all plans, automatic) vs bank transfer (large annual contracts, net 30)",
         "Paying {how}",
         "Paying {how} is available {who}. {process} {timing} {currency} "
         "Whatever the method, invoices are issued on the renewal date and list the plan, seats, add-ons and taxes. "
         "You can change how you pay at any time from Settings › Billing › Payment method; the change applies to the next invoice. "
         "Late payments start the 14-day grace period, and receipts are e-mailed to billing contacts once payment is received.",
         (S("card",
            ["When does our card get charged for the renewal?",
             "Which currency is my card charged in?",
             "How quickly is an invoice marked paid when it is charged to a card?"],
            ["pay by card automatic", "card charge renewal date"],
            how="by credit card", who="on every plan",
            process="The card on file is charged automatically on the renewal date.",
            timing="Payment is immediate and the invoice is marked paid within seconds.",
            currency="Cards are charged in the currency of your pricing region."),
          S("bank",
            ["Can we pay by wire instead of card?",
             "Do you offer net 30 payment terms?",
             "What reference should we put on a bank transfer to Harborline?"],
            ["bank transfer invoice net 30", "wire reference number"],
            how="by bank transfer", who="for annual Enterprise contracts and for annual Business subscriptions above $10,000",
            process="We e-mail an invoice with our bank details and your unique reference number; include the reference on the transfer.",
            timing="Invoices are payable within 30 days (net 30), and it can take two business days to match the payment.",
            currency="Transfers in EUR, USD and GBP are accepted."))),
    Pair("maintenance-region", "incidents", "maintenance window for the EU region (Sundays 02:00-04:00 CET) vs the US region (Saturdays 22:00-00:00 PT)",
         "Maintenance windows for the {region} region",
         "Planned maintenance for workspaces hosted in the {region} region happens {when}. "
         "We announce windows with expected impact at least 72 hours ahead on status.harborline.io. "
         "Most windows have no visible effect; when there is impact the API returns 503 with a Retry-After header. {dc}",
         (S("eu",
            ["When does maintenance happen for our workspace hosted in Germany?",
             "Is planned downtime for Europe on Sunday night?",
             "What are the maintenance hours in CET for EU customers?"],
            ["maintenance eu sunday", "eu maintenance cet"],
            region="EU", when="on Sundays between 02:00 and 04:00 CET",
            dc="The EU region runs in Frankfurt."),
          S("us",
            ["What time is the weekly maintenance for American workspaces?",
             "Does the US region have maintenance on Saturday evenings?",
             "Is there planned downtime at the weekend for workspaces hosted in the States?"],
            ["maintenance window us pacific", "us maintenance saturday"],
            region="US", when="on Saturdays between 22:00 and 00:00 Pacific Time",
            dc="The US region runs in Virginia."))),
]

# Older postmortems written in the same shape: unjudged distractors that make
# "which quarter?" queries harder (same quarter, different year, or other subject).
EXTRA_POSTMORTEMS: list[dict[str, str]] = [
    dict(id="postmortem-2023q4", what="delays", quarter="Q4", year="2023", date="12 December 2023",
         impact="were delayed by up to 25 minutes", duration="2 hours 5 minutes",
         scope="About 6% of workspaces in the EU region were affected.",
         cause="a database migration locked the delivery schedule table",
         detect="synthetic webhook checks failed 4 minutes after the migration began",
         fix="we aborted the migration and re-ran it in smaller batches",
         followup="online schema migrations for delivery tables"),
    dict(id="postmortem-2024q1", what="delays", quarter="Q1", year="2024", date="21 February 2024",
         impact="were delayed by up to 15 minutes", duration="58 minutes",
         scope="A small number of workspaces in both regions were affected.",
         cause="a DNS resolver change increased lookup times for customer endpoints",
         detect="p99 delivery latency alerts fired after 11 minutes",
         fix="we rolled back the resolver change",
         followup="resolver caching and a canary for network configuration"),
    dict(id="postmortem-2024q2", what="failures", quarter="Q2", year="2024", date="9 May 2024",
         impact="failed for endpoints behind one CDN provider", duration="2 hours 31 minutes",
         scope="About 3% of workspaces in the US region were affected.",
         cause="a new egress IP range had not been published, so customer firewalls rejected our connections",
         detect="customers reported failures before our retry alert triggered",
         fix="we moved deliveries back to the published IP range",
         followup="publishing egress ranges 14 days before use"),
]
EXTRA_POSTMORTEM_TITLE = "Postmortem: webhook delivery {what}, {quarter} {year}"

# Other unjudged pages that give the corpus the breadth of a real help center.
FILLERS: list[tuple[str, str, str, str]] = [
    ("misc-getting-started", "account", "Getting started with Harborline",
     "Harborline brings e-mail, live chat, SMS and social messages into one shared inbox. Start by connecting a channel, invite your teammates and create a few saved replies for common questions. Most teams are answering customers within an hour of signing up."),
    ("misc-shared-inbox", "account", "Working in the shared inbox",
     "Every conversation has an assignee, a status (open, snoozed or closed) and optional tags. Use the left sidebar to switch between inboxes and saved views. Collision detection shows when a teammate is already typing a reply to the same customer."),
    ("misc-saved-replies", "account", "Saved replies",
     "Saved replies are reusable answers with placeholders such as the customer's first name. Type a forward slash in the composer to search them. Admins can share replies with the whole workspace or keep them private to one team."),
    ("misc-tags", "account", "Tags and custom attributes",
     "Tags label conversations for reporting and automation, while custom attributes store structured data on contacts, such as plan or company size. Attributes can be filled in by the API, by integrations or by agents."),
    ("misc-reports", "account", "Reporting overview",
     "Reports show conversation volume, first response time, resolution time and customer satisfaction. Filter by inbox, tag or agent and export any chart as CSV. Reports use the workspace time zone."),
    ("misc-shortcuts", "account", "Keyboard shortcuts",
     "Press ? anywhere to see every shortcut. Common ones: C to close a conversation, A to assign, S to snooze, R to reply and Ctrl+K to open the command palette."),
    ("misc-browsers", "account", "Supported browsers",
     "Harborline supports the two latest versions of Chrome, Edge, Firefox and Safari. Internet Explorer is not supported. Some features, such as desktop notifications, need browser permissions."),
    ("misc-accessibility", "account", "Accessibility statement",
     "We aim to meet WCAG 2.1 AA in the agent app and the chat widget. Everything can be used with a keyboard and a screen reader, and colours meet contrast requirements. Tell us about barriers at accessibility@harborline.io."),
    ("misc-trust", "security", "Trust center and compliance",
     "Harborline holds SOC 2 Type II and ISO 27001 certifications and signs data processing agreements with every customer. Subprocessors are listed on the Trust Center, and we announce changes 30 days in advance."),
    ("misc-plans-compared", "billing", "Comparing Harborline plans",
     "Free suits solo founders, Team adds shared inboxes and integrations, Business adds the audit log, custom roles and the SSO add-on, and Enterprise adds IP allowlisting, customer-managed keys and a dedicated account manager. Prices depend on your region."),
    ("misc-glossary", "account", "Glossary",
     "Workspace: your company's Harborline account. Inbox: a queue of conversations from one or more channels. Seat: a paid slot for an active member. Channel: a way customers reach you, such as e-mail, chat or SMS."),
    ("misc-automation-rules", "integrations", "Automation rules",
     "Rules run when a conversation is created or updated and can assign, tag, reply or close it. Conditions can check the channel, the customer's attributes or words in the message. Rules run in order from top to bottom."),
    ("misc-csat", "account", "Customer satisfaction surveys",
     "After a conversation closes, Harborline can ask the customer to rate the help they got. Ratings and comments appear in reports and on the conversation. Surveys are sent once per conversation and can be switched off per inbox."),
    ("misc-whatsapp", "integrations", "WhatsApp channel",
     "Connect a WhatsApp Business account to answer WhatsApp messages from the shared inbox. Outside the 24-hour customer service window only approved message templates can be sent. WhatsApp messages are counted separately from SMS."),
]


# ---------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]

MISC_CHANGES = [
    "Dark mode contrast has been improved in the inbox.",
    "Search now matches partial words in contact names.",
    "The conversation list loads faster for large inboxes.",
    "Fixed a bug where emoji in subject lines were cut off.",
    "Ctrl+K now opens the command palette.",
    "Saved replies can be organised in folders.",
    "Reports can be scheduled to arrive weekly by e-mail.",
    "Tags can now be renamed in bulk.",
    "Fixed an issue where the chat widget flickered in Safari.",
    "CSV exports now use UTF-8 with a byte order mark so Excel opens them correctly.",
    "Agents can now snooze a conversation until a specific date.",
    "The composer keeps drafts when you switch conversations.",
    "Contact profiles show the customer's local time.",
    "Fixed a rare crash in the Android app when opening large images.",
    "Automation rules can now match on custom attributes.",
    "Satisfaction survey comments are now searchable.",
]

ISSUE_LABELS = [("Symptom", "Fix"), ("Problem", "Solution"), ("What you see", "What to do"),
                ("Issue", "Resolution"), ("Q", "A")]


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def lc_first(s: str) -> str:
    """Lower-case the first letter unless the first word is an identifier or acronym."""
    first = s.split(" ", 1)[0]
    if any(c.isupper() or c.isdigit() or c == "_" for c in first[1:]):
        return s
    return s[:1].lower() + s[1:]


def end(s: str) -> str:
    s = s.rstrip()
    return s if s[-1:] in ".?!" else s + "."


def nav_leaf(nav: str) -> str:
    return nav.split("›")[-1].strip()


def example_command(cmd: str, rng: random.Random) -> str:
    samples = {
        "workspace_id": "ws_4821", "yyyy": "2024", "count": "12", "type": "eu_vat", "value": "DE123456789",
        "invoice_id": "in_20240311_0042", "email": "dana@example.com", "code": "SPRING50", "amount": "500",
        "label": "crm-sync", "list": "contacts:read,contacts:write", "key_id": "key_7Hq2", "duration": "48h",
        "scope,...": "contacts:read", "resource": "contacts", "https-url": "https://hooks.example.com/hl",
        "endpoint_id": "we_118", "time": "2024-05-01T00:00Z", "key": "3f6c1e2a", "request_id": "req_9ZkP1",
        "name": "Acme Connector", "uri": "https://app.example.com/oauth/callback", "version": "2024-06",
        "days": "7", "cidr": "203.0.113.0/24", "key-arn": "arn:aws:kms:eu-central-1:1111:key/abcd",
        "email,...": "sam@example.com,lee@example.com", "role": "agent", "name_": "acme",
        "slug": "acme-support", "old_email": "dana@old.example.com", "new_email": "dana@example.com",
        "contact_id": "ct_5531", "event": "mention", "channel": "email", "tz": "Europe/Berlin",
        "list_id": "8841", "conversation_id": "cv_77120", "issue_key": "SUP-412", "address": "ops@example.com",
        "domain": "mail.example.com", "hostname": "help.example.com", "yyyy-mm": "2024-08",
        "sev": "sev1", "incident_id": "inc_2024_081", "n": "365", "scope": "attachments",
        "team|business": "business", "json|csv": "json",
    }

    def sub(m: re.Match[str]) -> str:
        return samples.get(m.group(1), m.group(1).replace("-", "_"))

    return re.sub(r"<([^>]+)>", sub, cmd)


def render_steps(steps: tuple[str, ...], rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return "\n".join(f"{i}. {end(s)}" for i, s in enumerate(steps, 1))
    if style == 1:
        firsts = ["First,", "To begin,", "Start here:"]
        mids = ["Next,", "Then", "After that,"]
        lasts = ["Finally,", "Last,", "To finish,"]
        out = []
        for i, s in enumerate(steps):
            if i == 0:
                lead = rng.choice(firsts)
            elif i == len(steps) - 1:
                lead = rng.choice(lasts)
            else:
                lead = mids[(i - 1) % len(mids)]
            out.append(f"{lead} {end(lc_first(s))}")
        return " ".join(out)
    body = "; ".join(lc_first(s).rstrip(".") for s in steps)
    return f"Steps: {cap(body)}."


def render_guide(t: Topic, title: str, rng: random.Random) -> str:
    intro = rng.choice([
        f"You can {t.task} from {t.nav}.",
        f"Need to {t.task}? Follow the steps below.",
        f"This article shows how to {t.task}.",
        f"Admins often ask how to {t.task}. It only takes a minute.",
        f"Here is how to {t.task}.",
        f"To {t.task}, use the {nav_leaf(t.nav)} page ({t.nav}).",
    ])
    facts = rng.sample(t.facts, 2)
    note = rng.choice(["Note:", "Good to know:", "Tip:", "Keep in mind:", "Before you start:"])
    parts = [intro]
    if note == "Before you start:":
        parts.append(f"{note} {facts[0]}")
        parts.append(render_steps(t.steps, rng))
    else:
        parts.append(render_steps(t.steps, rng))
        parts.append(f"{note} {facts[0]}")
    if rng.random() < 0.5:
        parts.append(facts[1])
    closer = rng.choice([
        f"If the steps above don't work, see the {rng.choice((t.noun,) + t.syns)} troubleshooting page.",
        "Questions? Contact support from Help › Contact support.",
        "",
        f"Related: {t.titles[-1]}.",
    ])
    if closer:
        parts.append(closer)
    return "\n".join(parts)


def render_trouble(t: Topic, rng: random.Random) -> tuple[str, str]:
    title = rng.choice([
        f"Troubleshooting {rng.choice((t.noun,) + t.syns)}",
        f"{cap(t.noun)}: common problems",
        t.issues[0][0],
        f"{cap(t.noun)} not working? Start here",
    ])
    intro = rng.choice([
        f"{cap(t.noun)} problems usually have one of the causes below; check them before contacting support.",
        f"These are the issues we see most often when people try to {t.task}.",
        "Most problems have a quick fix. Find yours below.",
        f"Running into trouble? Here are the usual causes, starting with the most common.",
    ])
    left, right = rng.choice(ISSUE_LABELS)
    issues = list(t.issues)
    rng.shuffle(issues)
    blocks = [f"{left}: {end(s)}\n{right}: {end(cap(f))}" for s, f in issues]
    parts = [intro, *blocks]
    parts.append(rng.choice(["Also worth knowing:", "Background:", "Remember:"]) + " " + rng.choice(t.facts))
    parts.append(rng.choice([
        "Still stuck? Send support the request ID and the time the problem started.",
        f"If none of this helps, open a ticket and mention that you followed this checklist.",
        "Contact support if the problem persists.",
    ]))
    return title, "\n".join(parts)


def render_admin(t: Topic, rng: random.Random) -> tuple[str, str]:
    head = re.split(r" <| --", t.cmd)[0]
    title = rng.choice([f"Admin console: {head}", f"{head} (admin console command)",
                        f"Console reference: {head}"])
    intro = rng.choice([
        f"Use this command to {t.task}.",
        f"{cap(t.task)} from the {PRODUCT} admin console.",
        f"Does the same as {t.nav} in the web app: {t.task}.",
    ])
    if rng.random() < 0.5:
        opts = "Options:\n" + "\n".join(f"  {f}  {d}" for f, d in t.flags)
    else:
        opts = "Flags: " + "; ".join(f"{f} ({d})" for f, d in t.flags) + "."
    parts = [f"Usage: hl {t.cmd}", intro, opts, rng.choice(t.facts),
             f"Example: hl {example_command(t.cmd, rng)}"]
    parts.append(rng.choice([
        "The command prints a confirmation and writes an entry to the audit log.",
        "Add --json to get machine-readable output.",
        "Run it with --help to see every option.",
        "",
    ]))
    return title, "\n".join(p for p in parts if p)


def render_about(t: Topic, rng: random.Random) -> tuple[str, str]:
    noun = rng.choice((t.noun,) + t.syns)
    title = rng.choice([f"{cap(noun)}: how it works", f"{cap(noun)} explained", f"{cap(noun)} FAQ",
                        f"{cap(noun)}: the details"])
    facts = list(t.facts)
    rng.shuffle(facts)
    joins = ["Also, ", "In addition, ", "Note that "]
    body = " ".join(
        (rng.choice(joins) + lc_first(f)) if i and rng.random() < 0.3 else f for i, f in enumerate(facts)
    )
    intro = rng.choice([
        f"This page answers the questions admins ask most often about this part of {PRODUCT}.",
        "A quick overview for workspace admins.",
        "What you need to know, in short.",
    ])
    outro = rng.choice([f"You'll find the settings under {t.nav}.", f"Settings live in {t.nav}.",
                        f"For step-by-step instructions see {t.titles[0]}."])
    return title, f"{intro} {body}\n{outro}"


def render_release(t: Topic, rng: random.Random) -> tuple[str, str]:
    year = rng.choice([2023, 2024])
    month = rng.randrange(12)
    day = rng.randrange(1, 29)
    title = rng.choice([f"Release notes: {MONTHS[month]} {day}, {year}",
                        f"What's new in {PRODUCT}, {MONTHS[month]} {year}",
                        f"Product update {year}-{month + 1:02d}-{day:02d}"])
    items = [t.change, *rng.sample(MISC_CHANGES, 2)]
    rng.shuffle(items)
    lines = "\n".join(f"- {x}" for x in items)
    return title, f"{rng.choice(['This release includes:', 'Changes in this release:', 'Highlights:'])}\n{lines}"


# ---------------------------------------------------------------------------
# Typos
# ---------------------------------------------------------------------------

_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_POS = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}


def _neighbours(c: str) -> list[str]:
    if c not in _POS:
        return []
    r, i = _POS[c]
    out = []
    for dr in (-1, 0, 1):
        rr = r + dr
        if 0 <= rr < len(_ROWS):
            for di in ((-1, 1) if dr == 0 else (0, 1) if dr < 0 else (-1, 0)):
                j = i + di
                if 0 <= j < len(_ROWS[rr]):
                    out.append(_ROWS[rr][j])
    return out


def _typo_word(w: str, rng: random.Random) -> str:
    ops = ["delete", "swap", "neighbour", "vowels"]
    weights = [3, 3, 3, 1.5 if sum(c in "aeiou" for c in w[1:]) >= 2 and len(w) >= 5 else 0]
    op = rng.choices(ops, weights)[0]
    if op == "delete":
        i = rng.randrange(1, len(w))
        return w[:i] + w[i + 1:]
    if op == "swap":
        i = rng.randrange(1, len(w) - 1)
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]
    if op == "neighbour":
        idx = [i for i in range(1, len(w)) if _neighbours(w[i].lower())]
        i = rng.choice(idx)
        sub = rng.choice(_neighbours(w[i].lower()))
        return w[:i] + (sub.upper() if w[i].isupper() else sub) + w[i + 1:]
    return w[0] + "".join(c for c in w[1:] if c.lower() not in "aeiou")


def make_typo(text: str, rng: random.Random) -> str:
    """Corrupt one or two words the way people mistype into a search box."""
    spans = [m.span() for m in re.finditer(r"[A-Za-z]{4,}", text)]
    n = 1 if len(spans) == 1 or rng.random() < 0.7 else 2
    chosen = sorted(rng.sample(spans, n), reverse=True)
    out = text
    for a, b in chosen:
        word = out[a:b]
        new = _typo_word(word, rng)
        for _ in range(5):
            if new != word:
                break
            new = _typo_word(word, rng)
        out = out[:a] + new + out[b:]
    return out


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------

KIND_BY_PREFIX = {"!t": "trouble", "!c": "about", "!g": "guide", "!a": "admin"}
DOC_TYPE = {"guide": "guide", "trouble": "troubleshooting", "admin": "admin-command", "about": "about",
            "release": "release-note"}


@dataclass
class Built:
    docs: list[dict] = field(default_factory=list)
    queries: list[dict] = field(default_factory=list)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)


def _doc(built: Built, doc_id: str, title: str, text: str, meta: dict) -> None:
    built.docs.append({"_id": doc_id, "title": title, "text": text, "metadata": meta})


def _parse_target(q: str, default: str) -> tuple[str, str]:
    head = q[:2]
    if head in KIND_BY_PREFIX and q[2:3] == " ":
        return KIND_BY_PREFIX[head], q[3:]
    return default, q


def build(seed: int = DEFAULT_SEED) -> Built:
    rng = random.Random(seed)
    built = Built()
    raw_queries: list[tuple[str, dict, dict[str, int]]] = []

    for t in TOPICS:
        ids = {k: f"{t.id}-{k}" for k in ("guide", "trouble", "admin", "about", "release")}
        base = {"class": t.cls, "topic": t.id}
        _doc(built, ids["guide"], t.titles[0], render_guide(t, t.titles[0], rng),
             {**base, "doc_type": "guide", "source": "help-center"})
        title, text = render_trouble(t, rng)
        _doc(built, ids["trouble"], title, text, {**base, "doc_type": "troubleshooting", "source": "help-center"})
        title, text = render_admin(t, rng)
        _doc(built, ids["admin"], title, text, {**base, "doc_type": "admin-command", "source": "admin-console"})
        title, text = render_about(t, rng)
        _doc(built, ids["about"], title, text, {**base, "doc_type": "about", "source": "help-center"})
        title, text = render_release(t, rng)
        _doc(built, ids["release"], title, text, {**base, "doc_type": "release-note", "source": "release-notes"})

        for segment, items, default in (("docs-site", t.q_nl, "guide"), ("admin-tool", t.q_kw, "admin")):
            for q in items:
                kind, text = _parse_target(q, default)
                rel = {ids[kind]: 2}
                if kind == "trouble":
                    rel[ids["guide"]] = 1
                else:
                    for other in ("guide", "admin", "about"):
                        if other != kind:
                            rel[ids[other]] = 1
                raw_queries.append((text, {"segment": segment, "class": t.cls, "topic": t.id,
                                           "intent": DOC_TYPE[kind]}, rel))

    for p in PAIRS:
        a, b = p.sides
        for side, other in ((a, b), (b, a)):
            doc_id, other_id = f"{p.id}-{side.name}", f"{p.id}-{other.name}"
            _doc(built, doc_id, p.title.format(**side.slots), p.text.format(**side.slots),
                 {"class": p.cls, "topic": p.id, "doc_type": "postmortem" if p.id.startswith("postmortem")
                  else "reference", "source": "status" if p.cls == "incidents" else "help-center",
                  "pair": p.id, "variant": side.name, "near_duplicate_of": other_id, "detail": p.detail})
            for segment, items in (("docs-site", side.q_nl), ("admin-tool", side.q_kw)):
                for text in items:
                    raw_queries.append((text, {"segment": segment, "class": p.cls, "topic": p.id,
                                               "intent": "pair", "pair": p.id, "variant": side.name,
                                               "hard_negative": other_id}, {doc_id: 2}))

    for pm in EXTRA_POSTMORTEMS:
        slots = {**pm, "year": pm["year"]}
        text = PAIRS[3].text.format(**slots)
        _doc(built, pm["id"], EXTRA_POSTMORTEM_TITLE.format(**slots), text,
             {"class": "incidents", "topic": "postmortem-webhooks", "doc_type": "postmortem", "source": "status"})
    for doc_id, cls, title, text in FILLERS:
        _doc(built, doc_id, title, text, {"class": cls, "topic": doc_id, "doc_type": "article",
                                          "source": "help-center"})

    texts = [q[0] for q in raw_queries]
    dupes = sorted({x for x in texts if texts.count(x) > 1})
    if dupes:
        raise SystemExit(f"duplicate query texts in the topic sheets: {dupes}")

    # Typos: a fixed share of all queries, most of them in the admin-tool segment.
    n_typo = round(TYPO_SHARE * len(raw_queries))
    n_admin = round(n_typo * TYPO_ADMIN_SHARE_OF_TYPOS)
    by_seg: dict[str, list[int]] = {"admin-tool": [], "docs-site": []}
    for i, (text, meta, _) in enumerate(raw_queries):
        if re.search(r"[A-Za-z]{4,}", text):
            by_seg[meta["segment"]].append(i)
    typo_idx = set(rng.sample(by_seg["admin-tool"], n_admin)) | set(rng.sample(by_seg["docs-site"], n_typo - n_admin))
    seen = set(texts)
    queries: list[tuple[str, dict, dict[str, int]]] = []
    for i, (text, meta, rel) in enumerate(raw_queries):
        if i in typo_idx:
            noisy = make_typo(text, rng)
            while noisy in seen or noisy == text:
                noisy = make_typo(text, rng)
            seen.add(noisy)
            meta = {**meta, "typo": True, "clean_text": text}
            text = noisy
        else:
            meta = {**meta, "typo": False}
        queries.append((text, meta, rel))

    # Splits, stratified by segment and typo so every split has the same mix.
    order = list(range(len(queries)))
    strata: dict[tuple[str, bool], list[int]] = {}
    for i in order:
        strata.setdefault((queries[i][1]["segment"], queries[i][1]["typo"]), []).append(i)
    split_of: dict[int, str] = {}
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        n_test = round(len(members) * TEST_SHARE)
        n_dev = round(len(members) * DEV_SHARE)
        for j, i in enumerate(members):
            split_of[i] = "test" if j < n_test else "dev" if j < n_test + n_dev else "train"

    for i, (text, meta, rel) in enumerate(queries):
        qid = f"q{i + 1:04d}"
        built.queries.append({"_id": qid, "text": text, "metadata": {**meta, "split": split_of[i]}})
        built.qrels[qid] = rel
        built.split[qid] = split_of[i]
    built.docs.sort(key=lambda d: d["_id"])
    return built


def write(built: Built, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    written = []

    def dump(path: Path, rows: list[dict]) -> None:
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        written.append(path)

    dump(out / "corpus.jsonl", built.docs)
    dump(out / "queries.jsonl", built.queries)
    for split in ("test", "train", "dev"):
        path = out / "qrels" / f"{split}.tsv"
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write("query-id\tcorpus-id\tscore\n")
            for qid, rel in built.qrels.items():
                if built.split[qid] != split:
                    continue
                for doc_id, score in sorted(rel.items(), key=lambda kv: (-kv[1], kv[0])):
                    fh.write(f"{qid}\t{doc_id}\t{score}\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the files in --out differ from a fresh build")
    args = ap.parse_args(argv)
    built = build(args.seed)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = write(built, Path(tmp))
            stale = [p.relative_to(tmp) for p in fresh
                     if not (args.out / p.relative_to(tmp)).is_file()
                     or (args.out / p.relative_to(tmp)).read_bytes() != p.read_bytes()]
        if stale:
            print(f"stale demo files in {args.out}: {', '.join(map(str, stale))}; "
                  f"run python scripts/build_demo_data.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    paths = write(built, args.out)
    n_split = {s: sum(1 for v in built.split.values() if v == s) for s in ("test", "train", "dev")}
    print(f"wrote {len(built.docs)} documents, {len(built.queries)} queries "
          f"({n_split}) to {args.out} ({sum(p.stat().st_size for p in paths):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
