; The hall service's Windows installer. scripts/package_windows.py fills the
; placeholders (@ + UPPERCASE NAME + @) and compiles it with makensis (Debian's nsis package).
;
; Two components, so the same installer serves every PC of the hall:
;   - the hall service (the hall PC): Python + the service, a Windows service
;     started at boot and restarted on failure, a firewall rule for the port;
;   - the kiosk shortcut (kiosk and board PCs): Edge in kiosk mode on the hall
;     PC's address, on the desktop and in the Startup folder.
; Silent install: setup.exe /S [/KIOSKURL=http://192.168.1.10:8080/kiosk/k1]
; Data in C:\ProgramData\hall is never removed by an update or an uninstall.

; A 64-bit installer for a 64-bit payload (and one that Wine's 64-bit loader can run).
Target amd64-unicode
ManifestDPIAware true
RequestExecutionLevel admin
SetCompressor /SOLID lzma
; Reproducible: no build-host timestamps in the file table.
SetDateSave off

!include "MUI2.nsh"
!include "nsDialogs.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "x64.nsh"
!include "WinVer.nsh"

!define APP "hall-kiosk"
!define VERSION "@VERSION@"
!define SERVICE "@SERVICE@"
!define PORT "@PORT@"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP}"
!define SHORTCUT "大厅触摸屏"

Name "乡镇便民服务中心大厅服务 ${VERSION}"
OutFile "@OUTFILE@"
InstallDir "$PROGRAMFILES64\HallKiosk"
InstallDirRegKey HKLM "Software\HallKiosk" "InstallDir"
BrandingText "hall-kiosk ${VERSION}"
VIProductVersion "@VIVERSION@"
VIAddVersionKey /LANG=2052 "ProductName" "hall-kiosk"
VIAddVersionKey /LANG=2052 "FileDescription" "乡镇便民服务中心大厅服务安装程序"
VIAddVersionKey /LANG=2052 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=2052 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=2052 "LegalCopyright" "hall-kiosk"

Var KioskUrl
Var KioskUrlField
Var KioskUrlChosen   ; "1" once given by /KIOSKURL= or confirmed on the page

!define MUI_ABORTWARNING
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
Page custom KioskUrlPage KioskUrlLeave
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "SimpChinese"

Function .onInit
  ${IfNot} ${RunningX64}
  ${OrIfNot} ${AtLeastWin10}
    MessageBox MB_ICONSTOP "本程序需要 64 位 Windows 10 或 Windows 11。" /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
  StrCpy $KioskUrl "http://127.0.0.1:${PORT}/kiosk"
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/KIOSKURL=" $R1
  ${IfNot} ${Errors}
    StrCpy $KioskUrl $R1
    StrCpy $KioskUrlChosen "1"
  ${EndIf}
FunctionEnd

; On the hall PC (an update, or the service part just installed): the hall's public
; address from its config, the same address the ticket QR codes carry.
Function DefaultKioskUrl
  ${If} $KioskUrlChosen == "1"
    Return
  ${EndIf}
  ${IfNot} ${FileExists} "$INSTDIR\python.exe"
  ${OrIfNot} ${FileExists} "$APPDATA\hall\hall.toml"
    Return
  ${EndIf}
  nsExec::ExecToStack '"$INSTDIR\python.exe" -c "import pathlib, sys; from hall.cli.autostart import public_url_from; sys.stdout.write(public_url_from(pathlib.Path(sys.argv[1])))" "$APPDATA\hall\hall.toml"'
  Pop $0
  Pop $1
  ${If} $0 == 0
    StrCpy $2 $1 7
    ${If} $2 == "http://"
      StrCpy $KioskUrl "$1/kiosk"
    ${EndIf}
  ${EndIf}
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Section "大厅服务（本机为大厅主机）" SecService
  SetOutPath "$INSTDIR"
  ; An update: stop the running service (and wait) before its files are replaced.
  ${If} ${FileExists} "$INSTDIR\python.exe"
    nsExec::ExecToLog '"$INSTDIR\python.exe" -m hall.winservice --wait 60 stop'
    Pop $0
  ${EndIf}
  ; Files of an older version must not linger in site-packages.
  RMDir /r "$INSTDIR\Lib"
  File /r "@STAGE@/*.*"
  WriteRegStr HKLM "Software\HallKiosk" "InstallDir" "$INSTDIR"

  CreateDirectory "$APPDATA\hall\data"
  SetOutPath "$APPDATA\hall"
  File "/oname=hall.example.toml" "@EXAMPLE@"

  ; The Windows service: install (pywin32 updates the registration of an existing one).
  nsExec::ExecToLog '"$INSTDIR\python.exe" -m hall.winservice --startup auto install'
  Pop $0
  ${If} $0 != 0
    MessageBox MB_ICONEXCLAMATION "Windows 服务注册失败（代码 $0）。请以管理员身份重新运行安装程序。" /SD IDOK
  ${EndIf}
  ; Restart after a crash or a failed start: 5 s, 5 s, then every minute (like Restart=on-failure).
  nsExec::ExecToLog '"$SYSDIR\sc.exe" failure ${SERVICE} reset= 86400 actions= restart/5000/restart/5000/restart/60000'
  Pop $0
  nsExec::ExecToLog '"$SYSDIR\sc.exe" failureflag ${SERVICE} 1'
  Pop $0
  ; Phones, tablets and the other PCs reach the service on this port.
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall delete rule name="hall-kiosk ${PORT}"'
  Pop $0
  nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall add rule name="hall-kiosk ${PORT}" dir=in action=allow protocol=TCP localport=${PORT} profile=any'
  Pop $0

  ; Start now only when the hall's config exists; a first install has none yet.
  ${If} ${FileExists} "$APPDATA\hall\hall.toml"
    nsExec::ExecToLog '"$INSTDIR\python.exe" -m hall.winservice --wait 60 start'
    Pop $0
  ${Else}
    MessageBox MB_ICONINFORMATION "首次安装：请在开始菜单「大厅服务 → 大厅服务命令行」中运行 kiosk setup --out $APPDATA\hall\hall.toml 生成配置（设备写法见同目录 hall.example.toml），再运行 kiosk config check $APPDATA\hall\hall.toml 检查，然后 python -m hall.winservice start 启动服务。" /SD IDOK
  ${EndIf}

  CreateDirectory "$SMPROGRAMS\大厅服务"
  CreateShortCut "$SMPROGRAMS\大厅服务\大厅服务命令行.lnk" "$SYSDIR\cmd.exe" '/k cd /d "$INSTDIR" && kiosk --help'
  CreateShortCut "$SMPROGRAMS\大厅服务\编辑配置.lnk" "$WINDIR\notepad.exe" '"$APPDATA\hall\hall.toml"'
  CreateShortCut "$SMPROGRAMS\大厅服务\数据与日志.lnk" "$APPDATA\hall"
  WriteINIStr "$SMPROGRAMS\大厅服务\运维页面.url" "InternetShortcut" "URL" "http://127.0.0.1:${PORT}/tech"
  CreateShortCut "$SMPROGRAMS\大厅服务\卸载.lnk" "$INSTDIR\uninstall.exe"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "乡镇便民服务中心大厅服务"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "hall-kiosk"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
SectionEnd

Section /o "触摸屏/大屏：Edge 全屏快捷方式（开机自动打开）" SecKiosk
  Call DefaultKioskUrl   ; a silent install never showed the page
  StrCpy $0 "$PROGRAMFILES32\Microsoft\Edge\Application\msedge.exe"
  ${IfNot} ${FileExists} "$0"
    StrCpy $0 "$PROGRAMFILES64\Microsoft\Edge\Application\msedge.exe"
  ${EndIf}
  ${IfNot} ${FileExists} "$0"
    MessageBox MB_ICONEXCLAMATION "未找到 Microsoft Edge（$0），未创建触摸屏快捷方式。" /SD IDOK
    Return
  ${EndIf}
  ; Edge kiosk mode: full screen, no first-run pages, forms print silently to the default printer.
  StrCpy $1 '--kiosk "$KioskUrl" --edge-kiosk-type=fullscreen --no-first-run --kiosk-printing'
  CreateShortCut "$DESKTOP\${SHORTCUT}.lnk" "$0" "$1"
  CreateShortCut "$SMSTARTUP\${SHORTCUT}.lnk" "$0" "$1"
  WriteRegStr HKLM "Software\HallKiosk" "KioskUrl" "$KioskUrl"
  ${IfNot} ${SectionIsSelected} ${SecService}
    ; A kiosk-only PC still needs an uninstaller.
    CreateDirectory "$INSTDIR"
    WriteUninstaller "$INSTDIR\uninstall.exe"
    WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "乡镇便民服务中心大厅服务（触摸屏快捷方式）"
    WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
    WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  ${EndIf}
SectionEnd

; (after the sections: it names ${SecKiosk})
; The address the kiosk shortcut opens: on a kiosk PC, the hall PC's public address.
Function KioskUrlPage
  ${IfNot} ${SectionIsSelected} ${SecKiosk}
    Abort
  ${EndIf}
  Call DefaultKioskUrl
  !insertmacro MUI_HEADER_TEXT "触摸屏地址" "全屏浏览器打开的大厅服务地址"
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateLabel} 0 0 100% 36u "请填写大厅主机的地址（见大厅主机 kiosk config check 显示的公共地址），例如 http://192.168.1.10:${PORT}/kiosk 或某台触摸屏的 /kiosk/<编号>。"
  Pop $0
  ${NSD_CreateText} 0 40u 100% 12u "$KioskUrl"
  Pop $KioskUrlField
  nsDialogs::Show
FunctionEnd

Function KioskUrlLeave
  ${NSD_GetText} $KioskUrlField $KioskUrl
  StrCpy $KioskUrlChosen "1"
  StrCpy $0 $KioskUrl 7
  StrCpy $1 $KioskUrl 8
  ${If} $0 != "http://"
  ${AndIf} $1 != "https://"
    MessageBox MB_ICONEXCLAMATION "地址必须以 http:// 或 https:// 开头。"
    Abort
  ${EndIf}
FunctionEnd

Section "Uninstall"
  ${If} ${FileExists} "$INSTDIR\python.exe"
    nsExec::ExecToLog '"$INSTDIR\python.exe" -m hall.winservice --wait 60 stop'
    Pop $0
    nsExec::ExecToLog '"$INSTDIR\python.exe" -m hall.winservice remove'
    Pop $0
    nsExec::ExecToLog '"$SYSDIR\netsh.exe" advfirewall firewall delete rule name="hall-kiosk ${PORT}"'
    Pop $0
  ${EndIf}
  Delete "$DESKTOP\${SHORTCUT}.lnk"
  Delete "$SMSTARTUP\${SHORTCUT}.lnk"
  RMDir /r "$SMPROGRAMS\大厅服务"
  RMDir /r "$INSTDIR"
  DeleteRegKey HKLM "Software\HallKiosk"
  DeleteRegKey HKLM "${UNINST_KEY}"
  ; C:\ProgramData\hall (config, database, backups, logs) stays: it is the hall's record.
SectionEnd
