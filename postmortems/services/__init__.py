"""Writes to incidents and postmortems. Every change goes through one of these functions: it
checks who may do it and the object's state and version, changes the rows atomically, and leaves
side effects (events, notifications) to run after commit. Refusals raise kbsite.errors."""

from postmortems.services.action_items import action_item_add, action_item_update
from postmortems.services.article_uses import article_use_record
from postmortems.services.findings import (
    finding_add,
    finding_delete,
    finding_update,
    findings_reorder,
)
from postmortems.services.incidents import (
    incident_create,
    incident_reject_repeat,
    incident_update,
)
from postmortems.services.postmortems import (
    approvals_in_round,
    postmortem_approve,
    postmortem_autosave,
    postmortem_publish,
    postmortem_publish_blockers,
    postmortem_request_changes,
    postmortem_save_sections,
    postmortem_start,
    postmortem_submit,
    required_approvals,
    section_comment_add,
)
from postmortems.services.templates import (
    SectionSpec,
    severity_default_set,
    template_default_for,
    template_in_use,
    template_make_current,
    template_revise,
)
from postmortems.services.timeline import (
    timeline_add,
    timeline_delete,
    timeline_reorder,
    timeline_update,
)

__all__ = [
    "SectionSpec",
    "action_item_add",
    "action_item_update",
    "approvals_in_round",
    "article_use_record",
    "finding_add",
    "finding_delete",
    "finding_update",
    "findings_reorder",
    "incident_create",
    "incident_reject_repeat",
    "incident_update",
    "postmortem_approve",
    "postmortem_autosave",
    "postmortem_publish",
    "postmortem_publish_blockers",
    "postmortem_request_changes",
    "postmortem_save_sections",
    "postmortem_start",
    "postmortem_submit",
    "required_approvals",
    "section_comment_add",
    "severity_default_set",
    "template_default_for",
    "template_in_use",
    "template_make_current",
    "template_revise",
    "timeline_add",
    "timeline_delete",
    "timeline_reorder",
    "timeline_update",
]
