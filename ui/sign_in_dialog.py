"""The sign-in dialog: username and password, or a demo account on the demo practice.

It only collects credentials and shows the answer; the window signs in off
the GUI thread and calls :meth:`SignInDialog.show_error` or closes it.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.spoken_label import SpokenLabel
from ui.style import ERROR_STYLE
from ui.window_fit import font_scale
from viewer.services.sign_in import DemoAccount, demo_accounts, remembered_username


class SignInDialog(QDialog):
    """Signals:
    credentialsEntered(str, str, bool): username, password, whether to remember the username.
    """

    credentialsEntered = Signal(str, str, bool)

    def __init__(self, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setAccessibleName("Sign in")
        self.setWindowTitle("Sign in to Caseline")
        self.setModal(True)
        self.accounts = demo_accounts(home)

        intro = QLabel(
            "Sign in with your own database login. Caseline shows you exactly what you may see.", self
        )
        intro.setObjectName("signInIntro")
        intro.setAccessibleName("About signing in")
        intro.setWordWrap(True)

        self.username = QLineEdit(self)
        self.username.setObjectName("signInUsername")
        self.username.setAccessibleName("Username")
        self.username.setText(remembered_username(home) or "")
        self.password = QLineEdit(self)
        self.password.setObjectName("signInPassword")
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember my username on this computer (never the password)", self)
        self.remember.setObjectName("signInRemember")
        self.remember.setAccessibleName("Remember username")
        self.remember.setChecked(bool(self.username.text()))
        self.error = SpokenLabel("", self)
        self.error.setObjectName("signInError")
        self.error.set_role("Sign-in problem")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)

        form = QFormLayout()
        for text, field in (("Username", self.username), ("Password", self.password)):
            label = QLabel(text, self)
            label.setObjectName(f"signInLabel{text}")
            label.setAccessibleName(f"{text}, label")
            label.setBuddy(field)
            form.addRow(label, field)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        if self.accounts:
            note = QLabel(
                "Demo practice: pick a fictional account (its password is filled in for you).", self
            )
            note.setObjectName("signInDemoNote")
            note.setAccessibleName("Demo accounts")
            note.setWordWrap(True)
            self.demo_list = QListWidget(self)
            self.demo_list.setObjectName("demoAccounts")
            self.demo_list.setAccessibleName("Demo accounts")
            for account in self.accounts:
                item = QListWidgetItem(f"{account.display_name} — {account.role}")
                item.setData(Qt.ItemDataRole.UserRole, account.username)
                self.demo_list.addItem(item)
            self.demo_list.currentRowChanged.connect(self._pick_demo)
            self.demo_list.itemDoubleClicked.connect(lambda _item: self._submit())
            self.demo_list.setMaximumHeight(round(170 * font_scale()))  # grows with the font (170 px at 9 pt)
            layout.addWidget(note)
            layout.addWidget(self.demo_list)
        layout.addLayout(form)
        layout.addWidget(self.remember)
        layout.addWidget(self.error)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel = QPushButton("Quit", self)
        self.cancel.setObjectName("signInCancel")
        self.cancel.setAccessibleName("Quit without signing in")
        self.cancel.clicked.connect(self.reject)
        self.submit = QPushButton("Sign in", self)
        self.submit.setObjectName("signInButton")
        self.submit.setAccessibleName("Sign in")
        self.submit.setDefault(True)
        self.submit.clicked.connect(self._submit)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.submit)
        layout.addLayout(buttons)
        # Tab follows the screen, the demo list (drawn on top) first; it was created after the fields.
        chain = [self.username, self.password, self.remember, self.cancel, self.submit]
        if self.accounts:
            chain.insert(0, self.demo_list)
        for before, after in pairwise(chain):
            QWidget.setTabOrder(before, after)
        (self.password if self.username.text() else self.username).setFocus()

    def _pick_demo(self, row: int) -> None:
        if 0 <= row < len(self.accounts):
            account: DemoAccount = self.accounts[row]
            self.username.setText(account.username)
            self.password.setText(account.password)

    def _submit(self) -> None:
        username = self.username.text().strip()
        password = self.password.text()
        if not username:
            self.show_error("Enter your username.")
            return
        if not password:
            self.show_error("Enter your password.")
            return
        self.error.setText("Signing in…")
        # A clicked Sign in has the focus; disabled, it passed the focus on along the chain to the
        # demo list, which picked its first account and filled in that name and password: the
        # click signed in as the first demo clinician.  The focus goes to the password instead,
        # and what is sent is what was typed.
        self.password.setFocus(Qt.FocusReason.OtherFocusReason)
        self.submit.setEnabled(False)
        self.credentialsEntered.emit(username, password, self.remember.isChecked())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc does not quit the app: a stray Esc after a sign-out closed Caseline, a username half typed.

        Quit stays one deliberate click (or Alt+F4) away.
        """
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            return
        super().keyPressEvent(event)

    def show_error(self, message: str) -> None:
        self.submit.setEnabled(True)
        self.error.setText(message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."))
        self.password.selectAll()
        self.password.setFocus()
