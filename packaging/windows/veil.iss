; Inno Setup 6 script of Veil's Windows installer: the PyInstaller bundle (dist\veil\) installed
; to Program Files for every user, or to the user's own programs folder for one user (Setup asks
; which; a non-administrator gets the second), a Start-menu entry that opens the window, and
; the .veil association so a double-click opens a package. packaging/README.md (Windows) has
; the whole sequence. From the repository root, after the bundle is built:
;
;   iscc /DAppVersion=0.1.0 packaging\windows\veil.iss          -> dist\veil-0.1.0-setup.exe
;
; Signed (the same signtool command as the bundle's veil.exe; Setup signs the installer and
; its uninstaller through the SignTool named "veilsign", $f being the file to sign):
;
;   iscc /DAppVersion=0.1.0 /DSign "/Sveilsign=signtool sign /fd SHA256 /tr http://timestamp.digicert.com /td SHA256 /a $f" packaging\windows\veil.iss
;
; The [Registry] entries are desktop.app.platform.associations.windows_registry_entries with
; {app}\veil.exe as the program, written under HKA (HKLM\Software\Classes for every user,
; HKCU\Software\Classes for one): tests/packaging/test_platform_files.py compares the two.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef DistDir
  ; relative to this script's folder
  #define DistDir "..\..\dist\veil"
#endif

[Setup]
; Setup's own identity of Veil (an upgrade finds the previous install by it): never change it.
AppId={{B20ED484-F83D-4AD5-8C0F-ED91B2022744}
AppName=Veil
AppVersion={#AppVersion}
AppVerName=Veil {#AppVersion}
AppPublisher=Veil
AppComments=Share medical images without leaking the patient
DefaultDirName={autopf}\Veil
DefaultGroupName=Veil
DisableProgramGroupPage=yes
; Everyone (Program Files, HKLM) by default; the dialog offers "only for me" (HKCU, no admin).
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
; Explorer is told the associations changed (SHChangeNotify) after install and uninstall.
ChangesAssociations=yes
UninstallDisplayIcon={app}\veil-gui.exe
UninstallDisplayName=Veil
OutputDir=..\..\dist
OutputBaseFilename=veil-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
#ifdef Sign
SignTool=veilsign
SignedUninstaller=yes
#endif

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Veil"; Filename: "{app}\veil-gui.exe"; Comment: "Share medical images without leaking the patient"

[Registry]
; .veil -> Veil.Package: the values go on uninstall, and the .veil key with them when nothing else
; (another program's OpenWithProgids) is left in it; the ProgID is Veil's and goes whole.
Root: HKA; Subkey: "Software\Classes\.veil"; ValueType: string; ValueName: ""; ValueData: "Veil.Package"; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKA; Subkey: "Software\Classes\.veil"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-veil-package"; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKA; Subkey: "Software\Classes\Veil.Package"; ValueType: string; ValueName: ""; ValueData: "Veil share package"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Veil.Package\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\veil-gui.exe"",0"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Veil.Package\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\veil-gui.exe"" ""%1"""; Flags: uninsdeletekey

[Run]
Filename: "{app}\veil-gui.exe"; Description: "Start Veil"; Flags: nowait postinstall skipifsilent
