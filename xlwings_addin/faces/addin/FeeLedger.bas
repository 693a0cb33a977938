Attribute VB_Name = "RibbonMyAddin"
' FeeLedger add-in: the one VBA module we write into xlwings' own Excel-written container
' (quickstart_addin_ribbon.xlam; this module replaces its RibbonMyAddin.RunMain, keeping the name).
' Every ribbon button calls Ribbon; Python (xlwings_addin.faces.macros.ribbon) looks the button id
' up in its BUTTONS table, so a new button needs customUI14.xml and a Python function, never VBA.
' scripts/build_addin.py appends the FB_* worksheet-function wrappers and the Chinese texts (ChrW).
' Keep this file ASCII: the project stores source in code page 1252.
Option Explicit

Sub Ribbon(control As IRibbonControl)
    If ActiveWorkbook Is Nothing Then
        MsgBox NoWorkbookText(), vbExclamation, TitleText()
        Exit Sub
    End If
    RunPython "import xlwings_addin.faces.macros as m; m.ribbon('" & control.Id & "')"
End Sub

Sub RibbonLoaded(ui As IRibbonUI)
    RegisterFunctionHelp
End Sub

Private Sub RegisterFunctionHelp()
    ' Function wizard texts for the FB_* worksheet functions, read from the add-in's _functions sheet
    ' (columns: name, description, category, argument descriptions...).
    Dim sht As Worksheet, r As Long, c As Long, n As Long, wasAddin As Boolean
    Dim argDocs() As String
    On Error Resume Next
    Set sht = ThisWorkbook.Worksheets("_functions")
    If sht Is Nothing Then Exit Sub
    wasAddin = ThisWorkbook.IsAddin
    ThisWorkbook.IsAddin = False
    r = 2
    Do While sht.Cells(r, 1).Value <> ""
        n = 0
        Do While sht.Cells(r, 4 + n).Value <> ""
            n = n + 1
        Loop
        If n > 0 Then
            ReDim argDocs(0 To n - 1)
            For c = 0 To n - 1
                argDocs(c) = sht.Cells(r, 4 + c).Value
            Next c
            Application.MacroOptions Macro:="'" & ThisWorkbook.Name & "'!" & sht.Cells(r, 1).Value, _
                Description:=sht.Cells(r, 2).Value, Category:=sht.Cells(r, 3).Value, ArgumentDescriptions:=argDocs
        Else
            Application.MacroOptions Macro:="'" & ThisWorkbook.Name & "'!" & sht.Cells(r, 1).Value, _
                Description:=sht.Cells(r, 2).Value, Category:=sht.Cells(r, 3).Value
        End If
        r = r + 1
    Loop
    ThisWorkbook.IsAddin = wasAddin
    ThisWorkbook.Saved = True
End Sub

Private Function CellValue(ByVal v As Variant) As Variant
    ' A worksheet function's result: xlwings hands back a 1x1 array; the text #VALUE! / #N/A
    ' (what xlwings_addin.faces.udfs returns on failure) becomes the Excel error itself.
    Dim x As Variant
    x = v
    If IsArray(x) Then x = x(LBound(x, 1), LBound(x, 2))
    If VarType(x) = vbString Then
        If x = "#VALUE!" Then
            x = CVErr(xlErrValue)
        ElseIf x = "#N/A" Then
            x = CVErr(xlErrNA)
        End If
    End If
    CellValue = x
End Function
