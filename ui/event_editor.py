"""The event editor: fields, validation beside each field, and nothing else.

The dialog never touches the database: Save emits ``saveRequested`` with a
checked :class:`EventDraft` and the edit controller runs it off the GUI thread.
Every change emits ``edited`` so the controller can autosave an encrypted draft.
What the fields mean and whether they are valid is decided in
``viewer/event_form.py``; this module only shows the answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from PySide6.QtCore import QDate, QDateTime, QEvent, Qt, QTime, QTimer, QTimeZone, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.discard_prompt import ask_discard
from ui.long_text import show_plain_text
from ui.spoken_label import SpokenLabel
from ui.window_fit import fit_to_text
from viewer.domain import EventDraft, EventType, Importance
from viewer.event_form import (
    SUBTYPE_SUGGESTIONS,
    FormCheck,
    FormValues,
    apply_edits,
    date_notice,
    edited_fields,
    privacy_explanation,
    read_edit,
    read_form,
)
from viewer.local_time import NoSuchLocalTime, is_repeated, moment_of, utc_offset_text, wall_of

ERROR_STYLE = "color:#A12B00;"
UTC_ZONE = QTimeZone(QTimeZone.Initialization.UTC)


def wall_to_qdatetime(wall: datetime) -> QDateTime:
    """A naive local wall time as the date box holds it: as UTC, so Qt applies no daylight-saving rule.

    Left to the local zone, the box silently refused times in the hour the
    clocks skip and read the repeated hour as its first occurrence; which
    moment a wall time names is :mod:`viewer.local_time`'s to say.
    """
    return QDateTime(
        QDate(wall.year, wall.month, wall.day), QTime(wall.hour, wall.minute, wall.second), UTC_ZONE
    )


def wall_from_qdatetime(value: QDateTime) -> datetime:
    """The naive local wall time the date box shows."""
    day, clock = value.date(), value.time()
    return datetime(day.year(), day.month(), day.day(), clock.hour(), clock.minute(), clock.second())


RELATED_FIELDS = frozenset({"related_entity_type", "related_entity_id"})


class _FieldLabel(QLabel):
    """A form label whose Alt+letter moves the focus to its field, and only that.

    Qt's label also clicks a button buddy: Alt+P flipped Private on or off unseen,
    where every other Alt+letter of the form only moved the focus.
    """

    def event(self, e: QEvent) -> bool:
        buddy = self.buddy()
        if e.type() == QEvent.Type.Shortcut and buddy is not None:
            buddy.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        return super().event(e)


class EventEditor(QDialog):
    """Create or edit one event.

    Signals:
        saveRequested(object): Save with every field valid: the ``EventDraft``.
        edited(): any field changed (for the encrypted draft autosave).
        historyRequested(object): the event's id, to show its versions.
    """

    saveRequested = Signal(object)
    edited = Signal()
    historyRequested = Signal(object)

    def __init__(
        self,
        values: FormValues,
        parent: QWidget | None = None,
        *,
        event_id: uuid.UUID | None = None,
        version: int | None = None,
        draft_id: uuid.UUID | None = None,
        base: EventDraft | None = None,
    ) -> None:
        super().__init__(parent)
        self.event_id = event_id
        self.version = version
        # The saved version the form shows (None for a new event or a recovered draft), and what the
        # boxes held when it opened: a save writes only the fields changed since.
        self.base = base
        self.opened: FormValues | None = None
        self.draft_id = draft_id or uuid.uuid4()
        self._patient_id = values.patient_id
        self._therapist_id = values.therapist_id
        self._touched: set[str] = set()
        self._fitted = False  # sized to its wrapped texts (at the first show)
        self._discard_confirmed = False
        self.unsaved_draft = False  # opened from a recovered draft: unsaved work from the start
        self._loading = False
        self.setObjectName("eventEditor")
        self.setAccessibleName("Event editor")
        self.setWindowTitle("Edit event" if event_id else "New event")
        self.setMinimumWidth(560)
        self.patient_name: str | None = None
        self.patient_label = QLabel("", self)
        self.patient_label.setObjectName("editorPatient")
        self.patient_label.setAccessibleName("Patient")
        self.patient_label.setTextFormat(Qt.TextFormat.PlainText)  # a name, shown as typed
        font = self.patient_label.font()
        font.setBold(True)
        self.patient_label.setFont(font)
        self.patient_label.hide()

        self.type_box = QComboBox(self)
        for event_type in EventType:
            self.type_box.addItem(event_type.label)
        self.subtype = QComboBox(self)
        self.subtype.setEditable(True)
        self.date = QDateTimeEdit(self)
        self.date.setTimeZone(UTC_ZONE)  # holds the local wall time itself (see wall_to_qdatetime)
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd HH:mm")
        # Qt's default floor is 14 Sep 1752: older events (an import may bring them) opened clamped.
        self.date.setDateTimeRange(
            wall_to_qdatetime(datetime(100, 1, 1)), wall_to_qdatetime(datetime(9999, 12, 31, 23, 59))
        )
        # Shown only for a time the clocks pass twice (when they go back): which of the two.
        self.occurrence = QComboBox(self)
        self.occurrence.setObjectName("editorDateOccurrence")
        self.occurrence.setAccessibleName("Which of the two times with this clock reading")
        self.occurrence.hide()
        self.date_notice = SpokenLabel("", self)  # a far-off year: asked to check, never refused
        self.date_notice.setObjectName("editorDateNotice")
        self.date_notice.set_role("About the date")
        self.date_notice.setStyleSheet("color:#8a5a00;")
        self.date_notice.setWordWrap(True)
        self.date_notice.hide()
        self.title_edit = QLineEdit(self)
        self.title_edit.setPlaceholderText("What happened, in a few words")
        self.importance = QComboBox(self)
        for importance in Importance:
            self.importance.addItem(importance.label)
        self.private = QCheckBox("Private (only I and my supervisor)", self)
        self.privacy_text = SpokenLabel("", self)
        self.privacy_text.setWordWrap(True)
        self.privacy_text.setStyleSheet("color:#444;")
        self.description = QPlainTextEdit(self)
        self.description.setPlaceholderText("Optional details")
        self.description.setTabChangesFocus(True)
        self.metadata = QTableWidget(0, 2, self)
        self.metadata.setHorizontalHeaderLabels(["Key", "Value"])
        self.metadata.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.metadata.verticalHeader().hide()
        self.metadata.setTabKeyNavigation(False)  # Tab leaves the table (arrows walk the cells)
        for header, name, spoken in (
            (self.metadata.horizontalHeader(), "editorMetadataColumns", "Metadata columns"),
            (self.metadata.verticalHeader(), "editorMetadataRows", "Metadata rows"),
        ):
            header.setObjectName(name)
            header.setAccessibleName(spoken)
        self.metadata.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.metadata.setMaximumHeight(130)
        self.add_row = QPushButton("Add key", self)
        self.remove_row = QPushButton("Remove key", self)
        self.related_type = QLineEdit(self)
        self.related_type.setPlaceholderText("e.g. treatment_plan")
        self.related_id = QLineEdit(self)
        self.related_id.setPlaceholderText("its id (the Id in its details)")

        named = {
            "event_type": (self.type_box, "editorType", "Event type"),
            "event_subtype": (self.subtype, "editorSubtype", "Subtype"),
            "event_date": (self.date, "editorDate", "Date and time"),
            "title": (self.title_edit, "editorTitle", "Title"),
            "importance": (self.importance, "editorImportance", "Importance"),
            "is_private": (self.private, "editorPrivate", "Private"),
            "description": (self.description, "editorDescription", "Description"),
            "metadata": (self.metadata, "editorMetadata", "Metadata"),
            "related_entity_type": (self.related_type, "editorRelatedType", "Related entity type"),
            "related_entity_id": (self.related_id, "editorRelatedId", "Related entity id"),
        }
        self.fields: dict[str, QWidget] = {name: widget for name, (widget, _, _) in named.items()}
        self.error_labels: dict[str, SpokenLabel] = {}
        for name, (widget, object_name, accessible) in named.items():
            widget.setObjectName(object_name)
            widget.setAccessibleName(accessible)
            label = SpokenLabel("", self)
            label.setObjectName(f"editorError_{name}")
            label.set_role(f"Problem with {accessible.lower()}")
            label.setStyleSheet(ERROR_STYLE)
            label.setWordWrap(True)
            label.hide()
            self.error_labels[name] = label
        self.privacy_text.setObjectName("editorPrivacyExplanation")
        self.privacy_text.set_role("Who will see this event")
        for widget, object_name, accessible in (
            (self.add_row, "editorAddMetadata", "Add a metadata key"),
            (self.remove_row, "editorRemoveMetadata", "Remove the selected metadata key"),
        ):
            widget.setObjectName(object_name)
            widget.setAccessibleName(accessible)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        def add(text: str, name: str, widget: QWidget | None = None) -> None:
            box = QVBoxLayout()
            box.setSpacing(1)
            box.addWidget(widget or named[name][0])
            box.addWidget(self.error_labels[name])
            label = _FieldLabel(text, self)
            label.setObjectName(f"editorLabel_{name}")
            label.setAccessibleName(text.replace("&", "").rstrip(":"))
            label.setBuddy(named[name][0])  # Alt+letter jumps to the field
            form.addRow(label, box)

        def group(
            object_name: str, accessible: str, kind: type[QHBoxLayout | QVBoxLayout]
        ) -> tuple[QWidget, Any]:
            """A named, margin-free box holding a field's widgets side by side or stacked."""
            holder = QWidget(self)
            holder.setObjectName(object_name)
            holder.setAccessibleName(accessible)
            inner = kind(holder)
            inner.setContentsMargins(0, 0, 0, 0)
            return holder, inner

        add("&Type:", "event_type")
        add("S&ubtype:", "event_subtype")
        when, when_layout = group("editorWhenBox", "When", QVBoxLayout)
        when_row = QHBoxLayout()
        when_row.addWidget(self.date, 1)
        when_row.addWidget(self.occurrence)
        when_layout.addLayout(when_row)
        when_layout.addWidget(self.date_notice)
        add("&When:", "event_date", when)
        add("T&itle:", "title")
        add("I&mportance:", "importance")
        privacy, privacy_layout = group("editorPrivacyBox", "Privacy", QVBoxLayout)
        privacy_layout.addWidget(self.private)
        privacy_layout.addWidget(self.privacy_text)
        add("&Privacy:", "is_private", privacy)
        add("&Description:", "description")
        metadata, metadata_layout = group("editorMetadataBox", "Metadata", QVBoxLayout)
        metadata_layout.addWidget(self.metadata)
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.add_row)
        row_buttons.addWidget(self.remove_row)
        row_buttons.addStretch(1)
        metadata_layout.addLayout(row_buttons)
        add("Met&adata:", "metadata", metadata)
        related, related_layout = group("editorRelatedBox", "Related to", QHBoxLayout)
        related_layout.addWidget(self.related_type, 1)
        related_layout.addWidget(self.related_id, 2)
        related_label = _FieldLabel("&Related to:", self)
        related_label.setBuddy(self.related_type)
        related_label.setObjectName("editorLabel_related")
        related_label.setAccessibleName("Related to, label")
        form.addRow(related_label, related)
        form.addRow("", self.error_labels["related_entity_type"])
        form.addRow("", self.error_labels["related_entity_id"])

        self.status = SpokenLabel("", self)
        self.status.setObjectName("editorStatus")
        self.status.set_role("Editor status")
        self.status.setWordWrap(True)
        self.history_button = QPushButton("&History…", self)
        self.history_button.setObjectName("editorHistory")
        self.history_button.setAccessibleName("Show this event's versions")
        self.history_button.setVisible(event_id is not None)
        self.history_button.clicked.connect(lambda: self.historyRequested.emit(self.event_id))
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("editorCancel")
        self.cancel_button.setAccessibleName("Close without saving")
        self.cancel_button.clicked.connect(self.reject)
        self.save_button = QPushButton("&Save", self)
        self.save_button.setObjectName("editorSave")
        self.save_button.setAccessibleName("Save the event")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Save (Ctrl+S)")
        self.save_button.clicked.connect(self.request_save)
        save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        save_shortcut.activated.connect(self.request_save)
        buttons = QHBoxLayout()
        buttons.addWidget(self.history_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.patient_label)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.set_values(values)
        if base is not None:
            self.opened = self.values()
        self.type_box.currentIndexChanged.connect(self._on_type_changed)
        self.private.toggled.connect(self._show_privacy)
        for signal, name in (
            (self.type_box.currentIndexChanged, "event_type"),
            (self.subtype.currentTextChanged, "event_subtype"),
            (self.date.dateTimeChanged, "event_date"),
            (self.occurrence.currentIndexChanged, "event_date"),
            (self.title_edit.textChanged, "title"),
            (self.importance.currentIndexChanged, "importance"),
            (self.private.toggled, "is_private"),
            (self.description.textChanged, "description"),
            (self.metadata.itemChanged, "metadata"),
            (self.related_type.textChanged, "related_entity_type"),
            (self.related_id.textChanged, "related_entity_id"),
        ):
            signal.connect(lambda *_args, n=name: self._on_changed(n))
        self.add_row.clicked.connect(self._add_metadata_row)
        self.remove_row.clicked.connect(self._remove_metadata_row)
        self.title_edit.setFocus()

    def showEvent(self, event: QShowEvent) -> None:
        """Tall enough for the wrapped texts (the privacy explanation got half its lines at 14 pt)."""
        super().showEvent(event)
        if not self._fitted:
            self._fitted = True
            fit_to_text(self)

    def _refit_later(self) -> None:
        """Fit again once the layout has taken in a notice or error just shown."""
        if self._fitted:
            QTimer.singleShot(0, self, lambda: fit_to_text(self))  # not after the editor is gone

    # -- values ------------------------------------------------------------------------
    @property
    def patient_id(self) -> uuid.UUID | None:
        return self._patient_id

    def set_patient_name(self, name: str | None) -> None:
        """Name the patient in the title bar and above the form (None: not known, left unsaid)."""
        self.patient_name = name
        kind = "Edit event" if self.event_id else "New event"
        self.setWindowTitle(f"{kind} for {name}" if name else kind)
        self.patient_label.setText(f"Patient: {name}" if name else "")
        self.patient_label.setAccessibleName(f"Patient: {name}" if name else "Patient")
        self.patient_label.setVisible(bool(name))

    def set_values(self, values: FormValues) -> None:
        self._loading = True
        try:
            self._patient_id = values.patient_id
            self._therapist_id = values.therapist_id
            self.type_box.setCurrentIndex(list(EventType).index(values.event_type))
            self._fill_subtypes(values.event_type)
            self.subtype.setCurrentText(values.event_subtype)
            wall, second = wall_of(values.event_date)
            self.date.setDateTime(wall_to_qdatetime(wall))
            self._show_occurrence(wall, second=second)
            self._show_date_notice(wall)
            self.title_edit.setText(values.title)
            self.importance.setCurrentIndex(int(values.importance))
            self.private.setChecked(values.is_private)
            show_plain_text(self.description, values.description)
            self.metadata.setRowCount(0)
            for key, value in values.metadata_rows:
                self._add_metadata_row(key, value)
            self.related_type.setText(values.related_entity_type)
            self.related_id.setText(values.related_entity_id)
        finally:
            self._loading = False
        self._show_privacy(values.is_private)
        self._validate()

    def values(self) -> FormValues:
        rows: list[tuple[str, str]] = []
        for row in range(self.metadata.rowCount()):
            key, value = self.metadata.item(row, 0), self.metadata.item(row, 1)
            rows.append((key.text() if key else "", value.text() if value else ""))
        return FormValues(
            patient_id=self._patient_id,
            therapist_id=self._therapist_id,
            event_type=list(EventType)[self.type_box.currentIndex()],
            event_date=self._moment(),
            title=self.title_edit.text(),
            importance=Importance(self.importance.currentIndex()),
            event_subtype=self.subtype.currentText(),
            description=self.description.toPlainText(),
            is_private=self.private.isChecked(),
            metadata_rows=tuple(rows),
            related_entity_type=self.related_type.text(),
            related_entity_id=self.related_id.text(),
        )

    def load_version(self, base: EventDraft, version: int) -> None:
        """Show a saved version (the other side's, after a conflict); edits now count from it."""
        self.version = version
        self.base = base
        self.set_values(FormValues.from_draft(base))
        self.opened = self.values()

    @property
    def unchanged(self) -> bool:
        """An opened event whose boxes all hold what they held when it opened: saving would write nothing."""
        return self.opened is not None and not self.unsaved_draft and self.values() == self.opened

    def draft_onto(self, draft: EventDraft, base: EventDraft | None = None) -> EventDraft:
        """What a save writes: the fields the user edited, from ``draft``, over ``base`` (the opened version)."""
        onto = base if base is not None else self.base
        if onto is None or self.opened is None:
            return draft  # a new event, or a recovered draft: every field is the user's
        return apply_edits(onto, draft, edited_fields(self.opened, self.values()))

    def _moment(self) -> datetime:
        """The moment the date box names; in the skipped hour, the later reading (Save refuses it anyway)."""
        wall = wall_from_qdatetime(self.date.dateTime())
        try:
            return moment_of(
                wall, second=not self.occurrence.isHidden() and self.occurrence.currentIndex() == 1
            )
        except NoSuchLocalTime as problem:
            if problem.instead is not None:
                return moment_of(problem.instead)
            return self.base.event_date if self.base is not None else datetime.now().astimezone()

    def _show_date_notice(self, wall: datetime) -> None:
        notice = date_notice(wall, datetime.now())
        self.date_notice.setText(notice or "")
        self.date_notice.setVisible(notice is not None)
        self._refit_later()
        error = self.error_labels["event_date"].text() if "event_date" in self.error_labels else ""
        self.date.setAccessibleDescription(" ".join(part for part in (error, notice or "") if part))

    def _show_occurrence(self, wall: datetime, *, second: bool | None = None) -> None:
        """Offer the choice of occurrence while the box shows a time the clocks pass twice."""
        repeated = is_repeated(wall)
        if repeated:
            keep = self.occurrence.currentIndex() == 1 if second is None else second
            blocked = self.occurrence.blockSignals(True)
            self.occurrence.clear()
            self.occurrence.addItem(f"first ({utc_offset_text(moment_of(wall))})")
            self.occurrence.addItem(f"second ({utc_offset_text(moment_of(wall, second=True))})")
            self.occurrence.setCurrentIndex(1 if keep else 0)
            self.occurrence.blockSignals(blocked)
        self.occurrence.setVisible(repeated)

    # -- validation and saving ---------------------------------------------------------
    def _check(self) -> FormCheck:
        """The form's reading, plus the one thing only the wall clock knows: a time that does not happen.

        For an opened event only the boxes the user changed are judged: the rest is saved as stored.
        """
        values = self.values()
        check = read_form(values) if self.opened is None else read_edit(self.opened, values)[0]
        try:
            moment_of(wall_from_qdatetime(self.date.dateTime()))
        except NoSuchLocalTime as problem:
            return FormCheck(None, {**check.errors, "event_date": problem.message})
        return check

    def _validate(self) -> EventDraft | None:
        check = self._check()
        for name, label in self.error_labels.items():
            message = check.errors.get(name)
            show = message is not None and name in self._touched
            label.setText(
                f"{name.replace('_', ' ').replace('event ', '').capitalize()} {message}" if show else ""
            )
            label.setVisible(show)
            # A screen reader on the field hears what is wrong with it, not only the sighted below it
            # (and, on the date, the question about a far-off year).
            said = [label.text(), self.date_notice.text() if name == "event_date" else ""]
            self.fields[name].setAccessibleDescription(" ".join(part for part in said if part))
        self._refit_later()
        return check.draft

    def request_save(self) -> None:
        """Save pressed: show every problem, or hand the draft over (nothing half-valid leaves)."""
        self._touched.update(self.error_labels)
        draft = self._validate()
        if draft is None:
            self.status.setText("Please correct the marked fields; nothing was saved.")
            self.status.setStyleSheet(ERROR_STYLE)
            first = next((name for name, label in self.error_labels.items() if label.text()), None)
            if first is not None:  # to the first field to put right, in the form's order
                self.fields[first].setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.saveRequested.emit(draft)

    def set_busy(self, message: str) -> None:
        self.status.setStyleSheet("color:#444;")
        self.status.setText(message)
        self.save_button.setEnabled(False)

    def show_failure(self, message: str, field_name: str | None = None) -> None:
        self.save_button.setEnabled(True)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(message)
        if field_name in self.error_labels:
            label = self.error_labels[field_name]
            label.setText(message)
            label.show()
        self._refit_later()

    @property
    def dirty(self) -> bool:
        """Whether the user changed anything since the editor opened (or last loaded values)."""
        return bool(self._touched) or self.unsaved_draft

    def close_keeping_draft(self) -> None:
        """Sign-out: close without asking; the encrypted draft stays for next time."""
        self._discard_confirmed = True
        self.close()

    def reject(self) -> None:
        """Cancel or Esc: with changes, ask before throwing them away (their draft goes too)."""
        if not self.dirty or self._discard_confirmed:
            super().reject()
            return

        def discard() -> None:
            self._discard_confirmed = True
            self.reject()

        self.discard_box = ask_discard(self, "Close the editor and discard your changes?", discard)

    def error_text(self, field_name: str) -> str:
        label = self.error_labels[field_name]
        return label.text() if label.isVisible() else ""

    # -- reactions ---------------------------------------------------------------------
    def _on_changed(self, name: str) -> None:
        if self._loading:
            return
        if name == "event_date":
            self._show_occurrence(wall_from_qdatetime(self.date.dateTime()))
            self._show_date_notice(wall_from_qdatetime(self.date.dateTime()))
        self._touched.add(name)
        if name in RELATED_FIELDS:  # one reference in two boxes: a type wants its id said at once
            self._touched.update(RELATED_FIELDS)
        self.status.setText("")
        self._validate()
        self.edited.emit()

    def _on_type_changed(self, _index: int) -> None:
        if not self._loading:
            text = self.subtype.currentText()
            self._fill_subtypes(list(EventType)[self.type_box.currentIndex()])
            self.subtype.setCurrentText(text)

    def _fill_subtypes(self, event_type: EventType) -> None:
        self.subtype.blockSignals(True)
        self.subtype.clear()
        self.subtype.addItems(list(SUBTYPE_SUGGESTIONS[event_type]))
        self.subtype.setCurrentText("")
        self.subtype.blockSignals(False)

    def _show_privacy(self, is_private: bool) -> None:
        self.privacy_text.setText(privacy_explanation(is_private))
        self._refit_later()  # the other explanation may need more lines

    def _add_metadata_row(self, key: str = "", value: str = "") -> None:
        row = self.metadata.rowCount()
        self.metadata.insertRow(row)
        self.metadata.setItem(row, 0, QTableWidgetItem(key))
        self.metadata.setItem(row, 1, QTableWidgetItem(value))
        if not self._loading:
            self.metadata.setCurrentCell(row, 0)
            self.metadata.editItem(self.metadata.item(row, 0))

    def _remove_metadata_row(self) -> None:
        row = self.metadata.currentRow()
        if row >= 0:
            self.metadata.removeRow(row)
            self._on_changed("metadata")
