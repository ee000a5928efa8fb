"""What can go wrong on the AMI link, as our own error types: nothing of panoramisk leaks."""

from __future__ import annotations


class AmiError(Exception):
    """Something the PBX link could not do; never carries the AMI secret."""


class LinkDown(AmiError):
    """The link is not logged in: nothing was sent."""


class ActionInterrupted(AmiError):
    """The link dropped after the action was sent and before its answer: it may have run."""


class ActionTimeout(AmiError):
    """No answer in time; the action may still run."""
