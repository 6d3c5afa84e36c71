"""Wires grouping: the grouping and individual endpoints, the consumer of tracklet templates and
the scheduler of runs."""

from __future__ import annotations

from services.grouping.handlers import GroupingHandlers
from services.grouping.scheduler import Scheduler
from services.grouping.summaries import Summaries
from shared import subjects
from shared.messages.common import ById
from shared.messages.grouping import (
    GroupingImage,
    GroupingLink,
    GroupingList,
    GroupingPageQuery,
    GroupingRef,
    GroupingWrite,
    IndividualPageQuery,
    IndividualSearch,
    MergeIndividualsRequest,
    SplitIndividualsRequest,
)
from shared.runtime import ServiceContext


async def setup(ctx: ServiceContext) -> None:
    """Follow tracklet templates (the event stream must exist first), start scheduling runs,
    then register the endpoints."""
    await ctx.bus.ensure_event_stream()
    summaries = Summaries(ctx)
    await summaries.start()
    scheduler = Scheduler(ctx)
    await scheduler.start()
    h = GroupingHandlers(ctx, scheduler)
    add = ctx.host.add
    await add(subjects.GROUPING_CREATE, GroupingWrite, h.create)
    await add(subjects.GROUPING_UPDATE, GroupingWrite, h.update)
    await add(subjects.GROUPING_GET, GroupingRef, h.get)
    await add(subjects.GROUPING_LIST, GroupingList, h.list_all)
    await add(subjects.GROUPING_DELETE, GroupingRef, h.delete)
    await add(subjects.GROUPING_LINK, GroupingLink, h.link)
    await add(subjects.GROUPING_TRIGGER, GroupingRef, h.trigger)
    await add(subjects.GROUPING_STATE, GroupingRef, h.state)
    await add(subjects.GROUPING_FRAMES, GroupingPageQuery, h.frames)
    await add(subjects.GROUPING_IMAGE, GroupingImage, h.add_image)
    await add(subjects.INDIVIDUAL_LIST, GroupingPageQuery, h.list_individuals)
    await add(subjects.INDIVIDUAL_GET, ById, h.get_individual)
    await add(subjects.INDIVIDUAL_DELETE, ById, h.delete_individual)
    await add(subjects.INDIVIDUAL_TRACKLETS, IndividualPageQuery, h.tracklets)
    await add(subjects.INDIVIDUAL_SEARCH, IndividualSearch, h.search)
    await add(subjects.INDIVIDUAL_SPLIT, SplitIndividualsRequest, h.split)
    await add(subjects.INDIVIDUAL_MERGE, MergeIndividualsRequest, h.merge)
    ctx.extra_stats["grouping"] = lambda: {**scheduler.stats(), "stored_tracklets": summaries.stored}
