"""Lock the window after idle time; unlock with the signed-in user's password.

The watcher sees every key, mouse and wheel event of the application and
restarts its timer; when it fires, the window hides its content behind the
lock screen (nothing else is closed, so unsaved edits stay where they are).
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtPrintSupport import QPrintDialog
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.spoken_label import SpokenLabel
from ui.style import ERROR_STYLE

_ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class IdleWatcher(QObject):
    """Watches every input event of the app: for the idle timeout, and for the lock's own keys.

    The lock keys are caught here too because a window-modal dialog (a version
    history, a delete confirmation, a conflict) blocks the main window's
    shortcuts: Ctrl+L did nothing while one was open.

    Signals:
        idle(): no input for ``timeout_ms``.
        lockPressed(): the lock's keys were pressed where no shortcut took them.
    """

    idle = Signal()
    lockPressed = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(timeout_ms)
        self.timer.timeout.connect(self.idle)
        self.lock_keys = QKeySequence()

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and self.timer.isActive():
            self.timer.start()
        if (
            event.type() == QEvent.Type.KeyPress
            and self.timer.isActive()  # signed in and not locked
            and not self.lock_keys.isEmpty()
            and isinstance(event, QKeyEvent)
            and QKeySequence(event.keyCombination()) == self.lock_keys
        ):
            self.lockPressed.emit()
            return True
        return False


class LockScreen(QWidget):
    """Signals:
    unlockRequested(str): the password typed to unlock.
    signOutRequested(): another clinician wants the workstation (drafts are kept, as at any sign-out).
    """

    unlockRequested = Signal(str)
    signOutRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setAccessibleName("Caseline is locked")
        self.heading = QLabel("Caseline is locked", self)
        self.heading.setObjectName("lockHeading")
        self.heading.setAccessibleName("Caseline is locked")
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.heading.setFont(font)
        self.heading.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.message = SpokenLabel("", self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.message.setObjectName("lockMessage")
        self.message.set_role("Lock message")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # it names the user: shown as typed
        self.password = QLineEdit(self)
        self.password.setObjectName("unlockPassword")
        self.password.setAccessibleName("Password to unlock")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaximumWidth(280)
        self.password.returnPressed.connect(self._submit)
        self.button = QPushButton("Unlock", self)
        self.button.setObjectName("unlockButton")
        self.button.setAccessibleName("Unlock")
        self.button.clicked.connect(self._submit)
        self.sign_out = QPushButton("Sign out…", self)
        self.sign_out.setObjectName("lockSignOutButton")
        self.sign_out.setAccessibleName("Sign out so someone else can sign in")
        self.sign_out.setToolTip("Sign out so someone else can sign in; unsaved editors are kept as drafts")
        self.sign_out.clicked.connect(self.signOutRequested)
        self.error = SpokenLabel("", self)
        self.error.setObjectName("unlockError")
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)  # as the rest of the lock screen
        self.error.set_role("Unlock problem")
        self.error.setStyleSheet(ERROR_STYLE)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.password)
        row.addWidget(self.button)
        row.addWidget(self.sign_out)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.heading)
        layout.addWidget(self.message)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addStretch(2)

    def prepare(self, who: str, *, idle: bool) -> None:
        """Ask ``who`` (shown as typed: plain text) for the password; ``idle`` says why it locked."""
        why = "Locked after a while without use. " if idle else ""
        self.message.setText(f"{why}{who}, enter your password to continue where you left off.")
        self.error.setText("")
        self.password.clear()
        self.button.setEnabled(True)
        self.password.setFocus()

    def forget(self) -> None:
        """Unlocked or signed out: the password typed here must not wait in the hidden screen."""
        self.password.clear()
        self.error.setText("")
        self.button.setEnabled(True)

    def _submit(self) -> None:
        if not self.password.text():
            self.error.setText("Enter your password.")
            return
        password = self.password.text()
        # A clicked Unlock has the focus; disabled, it passed it on to "Sign out…", where a Space
        # pressed while "Checking…" signed the clinician out.  The focus stays on the password.
        self.password.setFocus(Qt.FocusReason.OtherFocusReason)
        self.button.setEnabled(False)
        self.error.setText("Checking…")
        self.unlockRequested.emit(password)

    def refuse(self) -> None:
        self.button.setEnabled(True)
        self.error.setText("That is not the password of the signed-in user.")
        self.password.selectAll()
        self.password.setFocus()


class ShortcutBlock(QObject):
    """While locked, no menu and no shortcut reaches an action: only the lock screen takes input.

    Hiding the content was not enough: Ctrl+N opened an editor over the lock
    screen, and File > Export wrote the patient's timeline, all while locked.
    Actions stay as they are (a load finishing meanwhile may enable some), so
    the block sits where every shortcut passes, and the menu bar is disabled.
    """

    def __init__(self, main: QMainWindow, lock_screen: QWidget, shield: WindowShield | None = None) -> None:
        super().__init__(main)
        self.main = main
        self.lock_screen = lock_screen
        self.shield = shield
        self.active = False

    def engage(self) -> None:
        if self.active:
            return
        self.active = True
        self.main.menuBar().setEnabled(False)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def release(self) -> None:
        if not self.active:
            return
        self.active = False
        self.main.menuBar().setEnabled(True)
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.active:
            return False
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow():
            passing = watched.windowType() in (
                Qt.WindowType.ToolTip,
                Qt.WindowType.Popup,
            )  # the lock screen's
            if watched is not self.main and not passing and self.shield is not None:
                # A dialog a background job opens while locked (a conflict found by a save that was
                # under way) came up over the lock screen, with both versions' text.
                QTimer.singleShot(0, lambda w=watched: self.shield.hide_now(w) if self.active else None)
            return False
        if event.type() != QEvent.Type.Shortcut:
            return False
        # The lock screen's own mnemonics still work; every other shortcut (actions above all) stops.
        return not (isinstance(watched, QWidget) and self.lock_screen.isAncestorOf(watched))


class WindowShield:
    """Hides every other visible window of the app while locked, and brings back the ones it hid.

    Dialogs show patient text too (a version history, a delete confirmation naming the
    event), so the lock screen alone is not enough. The app opens its own dialogs with
    ``open()``; hidden and shown again they carry on where they were. File and print
    dialogs run their own loop (``exec``); hiding one ends it as "cancel", which loses
    nothing, so those are cancelled rather than brought back.
    """

    def __init__(self, main: QWidget) -> None:
        self.main = main
        self.hidden: list[QWidget] = []

    def hide_others(self) -> None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        for widget in app.topLevelWidgets():
            if widget is self.main or not widget.isVisible():
                continue
            if isinstance(widget, QFileDialog | QPrintDialog):
                widget.reject()
                continue
            widget.hide()
            self.hidden.append(widget)

    def hide_now(self, widget: QWidget) -> None:
        """Hide one more window (shown while locked) and bring it back with the others."""
        if shiboken6.isValid(widget) and widget.isVisible():
            widget.hide()
            self.hidden.append(widget)

    def restore(self) -> None:
        for widget in self.hidden:
            if shiboken6.isValid(widget):  # closed by its owner while locked: nothing to bring back
                widget.show()
        self.hidden.clear()
