"""The postmortems pages. Each view fetches through a selector, validates with a form, calls one
service, and renders or redirects (POST, then redirect, then GET, with a message)."""

from postmortems.views.action_items import action_item_add, action_item_edit, action_items
from postmortems.views.editor import (
    markdown_preview,
    postmortem_autosave,
    postmortem_edit,
    postmortem_lint,
)
from postmortems.views.findings import (
    article_search_inline,
    article_use_add,
    finding_add,
    finding_edit,
)
from postmortems.views.incidents import (
    incident_create,
    incident_detail,
    incident_edit,
    incident_status,
    index,
)
from postmortems.views.panels import incident_similar_panel, incident_suggestions_panel
from postmortems.views.postmortem import (
    postmortem_detail,
    postmortem_export,
    postmortem_start,
    postmortem_transition,
    section_comment_add,
)
from postmortems.views.similar import incident_confirm_repeat, incident_reject_repeat
from postmortems.views.timeline import timeline_add, timeline_edit

__all__ = [
    "action_item_add",
    "action_item_edit",
    "action_items",
    "article_search_inline",
    "article_use_add",
    "finding_add",
    "finding_edit",
    "incident_confirm_repeat",
    "incident_create",
    "incident_detail",
    "incident_edit",
    "incident_reject_repeat",
    "incident_similar_panel",
    "incident_status",
    "incident_suggestions_panel",
    "index",
    "markdown_preview",
    "postmortem_autosave",
    "postmortem_detail",
    "postmortem_edit",
    "postmortem_export",
    "postmortem_lint",
    "postmortem_start",
    "postmortem_transition",
    "section_comment_add",
    "timeline_add",
    "timeline_edit",
]
