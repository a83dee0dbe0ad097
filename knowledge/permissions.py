"""Who may see and change an article: logic about one article and one person, no queries
beyond the person's roles and teams (both cached on the user for the request)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from kbsite.roles import Role, user_has_role
from kbsite.selectors import user_team_ids
from knowledge.models import Article, ArticleState

# Roles that take part in reviewing knowledge: they see every draft and the review queue.
KNOWLEDGE_REVIEWERS = (Role.EDITOR, Role.REVIEWER)


def articles_visible_q(user: Any) -> Q:
    """A filter for the articles `user` may read.

    Published and archived articles are for everyone signed in. Drafts and articles in review
    are for their author and owner, members of the owning team, editors, reviewers and admins.
    """
    if user_has_role(user, *KNOWLEDGE_REVIEWERS):
        return Q()
    return (
        Q(state__in=[ArticleState.PUBLISHED, ArticleState.ARCHIVED])
        | Q(author_id=user.pk)
        | Q(owner_id=user.pk)
        | Q(team_id__in=user_team_ids(user=user))
    )


def can_view(user: Any, article: Article) -> bool:
    if article.state in (ArticleState.PUBLISHED, ArticleState.ARCHIVED):
        return True
    if user_has_role(user, *KNOWLEDGE_REVIEWERS):
        return True
    return user.pk in (article.author_id, article.owner_id) or (
        article.team_id is not None and article.team_id in user_team_ids(user=user)
    )


def can_edit(user: Any, article: Article) -> bool:
    """Editors change any live article; authors and owners change theirs until it is published."""
    if article.state == ArticleState.ARCHIVED:
        return False
    if user_has_role(user, Role.EDITOR):
        return True
    return article.state in (ArticleState.DRAFT, ArticleState.IN_REVIEW) and user.pk in (
        article.author_id,
        article.owner_id,
    )


def can_review(user: Any) -> bool:
    """Publish, request changes, archive and restore: reviewers, editors and admins."""
    return user_has_role(user, *KNOWLEDGE_REVIEWERS)
