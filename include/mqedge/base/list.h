/*
 * list.h - intrusive doubly linked lists: the link fields live in the element, named by the caller
 * (an element can sit in several lists, e.g. a member in its channel's and its session's list).
 * head is the list's first-element pointer; an unlinked element's links are left NULL.
 */
#ifndef MQEDGE_LIST_H
#define MQEDGE_LIST_H

#include <stddef.h>

/* Puts node in front of the list at head, through its link fields prev and next. */
#define DLIST_PUSH(head, node, prev, next) do {			\
	(node)->prev = NULL;					\
	(node)->next = (head);					\
	if (head)						\
		(head)->prev = (node);				\
	(head) = (node);					\
} while (0)

/* Takes node out of the list at head; node must be in it. */
#define DLIST_UNLINK(head, node, prev, next) do {		\
	if ((node)->prev)					\
		(node)->prev->next = (node)->next;		\
	else							\
		(head) = (node)->next;				\
	if ((node)->next)					\
		(node)->next->prev = (node)->prev;		\
	(node)->prev = (node)->next = NULL;			\
} while (0)

#endif
