"""Seed the root-cause taxonomy and the two templates that ship with the product.

The categories follow the trigger / root-cause taxonomy published in Google's SRE books (the
"Postmortem Culture" chapter and the postmortem example): what changed or failed, not who.
Admins edit, deactivate and add categories afterwards; repeat detection keys on them.
"""

from django.db import migrations

CATEGORIES = [
    (
        "binary-push",
        "Binary push",
        "A new build of a service was rolled out: a code change reached production.",
    ),
    (
        "configuration-push",
        "Configuration push",
        "A configuration or feature-flag change was rolled out, with no new binary.",
    ),
    (
        "user-behaviour-change",
        "User behaviour change",
        "Users or clients started using the system differently: a new traffic pattern, a "
        "retry storm, a launch or a partner integration.",
    ),
    (
        "capacity-load",
        "Capacity / load",
        "Demand outgrew what was provisioned: quotas, connection pools, memory, disk, CPU.",
    ),
    (
        "dependency-failure",
        "Dependency or provider failure",
        "A service we rely on failed or degraded: an internal dependency, a cloud provider, "
        "a payment acquirer, a SaaS vendor.",
    ),
    (
        "hardware",
        "Hardware",
        "A machine, disk, NIC or rack failed or misbehaved.",
    ),
    (
        "network",
        "Network",
        "Connectivity, DNS, load balancing, routing or packet loss between systems.",
    ),
    (
        "certificate-credential-expiry",
        "Certificate or credential expiry",
        "A TLS certificate, token, key or password expired or was rotated without its users.",
    ),
    (
        "data-corruption",
        "Data corruption",
        "Stored data became wrong or inconsistent: a bad migration, a partial write, a "
        "replication fault.",
    ),
    (
        "software-bug",
        "Software bug",
        "A latent defect in code that had been running for a while, triggered by new conditions.",
    ),
    (
        "process-procedure",
        "Process / human procedure",
        "A runbook, checklist or manual procedure did not protect the system: the gap is in "
        "the process and its tooling, never in a person.",
    ),
]

# (key, heading, prompt, required)
BLAMELESS_SECTIONS = [
    (
        "summary",
        "Summary",
        "Two or three sentences a newcomer understands: what happened, for how long, and how "
        "it ended.",
        True,
    ),
    (
        "impact",
        "Impact",
        "Who and what was affected, for how long, and by how much: users, requests, revenue, "
        "data. Give numbers where you have them.",
        True,
    ),
    (
        "timeline",
        "Timeline",
        "The key moments in order, with times (UTC). The detailed timeline lives on the "
        "incident; summarise the turning points here.",
        False,
    ),
    (
        "root_causes",
        "Root causes and contributing factors",
        "Which conditions in the system made this possible, and what triggered it? Describe "
        "systems and processes, not people: ask how, not who.",
        True,
    ),
    (
        "detection",
        "Detection",
        "How did we find out: an alert, a customer, a colleague? How long after it started? "
        "What would have told us sooner?",
        False,
    ),
    (
        "response",
        "Response and recovery",
        "What was done to mitigate and resolve it, and what made that faster or slower.",
        False,
    ),
    (
        "went_well",
        "What went well",
        "Tools, habits and knowledge that helped. Link the articles that did.",
        False,
    ),
    (
        "went_wrong",
        "What went wrong",
        "Where the system, tooling or process made the response harder.",
        False,
    ),
    (
        "lucky",
        "Where we got lucky",
        "What kept this from being worse that we cannot count on next time.",
        False,
    ),
    (
        "lessons",
        "Lessons learned",
        "What the next responder should know. Each lesson becomes a finding linked to a "
        "knowledge article, or a new one.",
        True,
    ),
]

SRE_CLASSIC_SECTIONS = [
    (
        "status",
        "Status",
        "Draft, action items in progress, or complete.",
        False,
    ),
    (
        "summary",
        "Summary",
        "One paragraph: what happened and for how long.",
        True,
    ),
    (
        "impact",
        "Impact",
        "Queries or requests lost, users affected, revenue impact, and any data lost.",
        True,
    ),
    (
        "root_causes",
        "Root causes",
        "The conditions that made the incident possible, independent of the trigger.",
        True,
    ),
    (
        "trigger",
        "Trigger",
        "The event that turned the latent root cause into an outage: a push, a load spike, a "
        "change in usage.",
        False,
    ),
    (
        "resolution",
        "Resolution",
        "What restored service: rollbacks, failovers, capacity added, configuration fixed.",
        True,
    ),
    (
        "detection",
        "Detection",
        "Which alert or person noticed, and when.",
        False,
    ),
    (
        "action_items",
        "Action items",
        "Summarise the action items: prevent, mitigate, detect sooner. Each one is also "
        "tracked below with an owner and a due date.",
        False,
    ),
    (
        "lessons",
        "Lessons learned",
        "What this incident taught us about the system and how we run it.",
        True,
    ),
    (
        "went_well",
        "What went well",
        "Things that worked and that we want to keep.",
        False,
    ),
    (
        "went_wrong",
        "What went wrong",
        "Things that made the outage longer or worse.",
        False,
    ),
    (
        "lucky",
        "Where we got lucky",
        "Near misses and good fortune we should not rely on.",
        False,
    ),
    (
        "timeline",
        "Timeline",
        "A screenplay of the incident in UTC: alerts, decisions, communications, recovery.",
        False,
    ),
    (
        "supporting_information",
        "Supporting information",
        "Links to dashboards, graphs, logs, chat transcripts and related documents.",
        False,
    ),
]

TEMPLATES = [
    (
        "blameless",
        "Blameless review",
        "The default: a blameless review of what happened, why the system allowed it, and "
        "what we learned.",
        BLAMELESS_SECTIONS,
    ),
    (
        "sre-classic",
        "SRE classic",
        "In the style of the postmortem example in Google's Site Reliability Engineering book.",
        SRE_CLASSIC_SECTIONS,
    ),
]

SEVERITIES = ["sev1", "sev2", "sev3", "sev4"]


def seed(apps, schema_editor):
    category_model = apps.get_model("postmortems", "RootCauseCategory")
    template_model = apps.get_model("postmortems", "PostmortemTemplate")
    section_model = apps.get_model("postmortems", "TemplateSection")
    default_model = apps.get_model("postmortems", "SeverityDefaultTemplate")

    for position, (slug, name, description) in enumerate(CATEGORIES, start=1):
        category_model.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )

    for slug, name, description, sections in TEMPLATES:
        template, created = template_model.objects.get_or_create(
            slug=slug,
            version=1,
            defaults={"name": name, "description": description, "is_current": True},
        )
        if not created:
            continue
        section_model.objects.bulk_create(
            section_model(
                template=template,
                key=key,
                heading=heading,
                prompt=prompt,
                required=required,
                position=position,
            )
            for position, (key, heading, prompt, required) in enumerate(sections, start=1)
        )

    for severity in SEVERITIES:
        default_model.objects.get_or_create(
            severity=severity, defaults={"template_slug": "blameless"}
        )


def unseed(apps, schema_editor):
    """Remove what `seed` added, except rows that incidents or postmortems now use."""
    category_model = apps.get_model("postmortems", "RootCauseCategory")
    template_model = apps.get_model("postmortems", "PostmortemTemplate")
    default_model = apps.get_model("postmortems", "SeverityDefaultTemplate")
    postmortem_model = apps.get_model("postmortems", "Postmortem")

    default_model.objects.filter(severity__in=SEVERITIES, template_slug="blameless").delete()
    used = postmortem_model.objects.values("template_id")
    template_model.objects.filter(slug__in=[slug for slug, *_ in TEMPLATES], version=1).exclude(
        pk__in=used
    ).delete()
    category_model.objects.filter(
        slug__in=[slug for slug, *_ in CATEGORIES], incidents__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("postmortems", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
