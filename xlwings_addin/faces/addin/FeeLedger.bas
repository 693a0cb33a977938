Attribute VB_Name = "FeeLedger"
' Ribbon callbacks of the FeeLedger add-in (the ribbon tab is defined in customUI14.xml).
' Each Sub runs one Python macro of xlwings_addin.faces.macros through xlwings' RunPython;
' the macro acts on the active workbook (xw.Book.caller()).  Keep this file ASCII:
' VBA source is stored in the project's code page, so all Chinese text lives in Python.
Option Explicit

Sub FL_Bill(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.bill()"
End Sub

Sub FL_Run(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.refresh_arrears()"
End Sub

Sub FL_Check(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.check()"
End Sub

Sub FL_Dunning(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.dunning_tasks()"
End Sub

Sub FL_ExportSms(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.export_sms()"
End Sub

Sub FL_FeeNotices(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.fee_notices()"
End Sub

Sub FL_DunningNotices(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.dunning_notices()"
End Sub

Sub FL_BankExport(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.bank_export()"
End Sub

Sub FL_BankImport(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.bank_import()"
End Sub

Sub FL_Receive(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.receive_selected()"
End Sub

Sub FL_Commission(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.commission()"
End Sub

Sub FL_SummaryReport(control As Object)
    RunPython "import xlwings_addin.faces.macros as m; m.summary_report()"
End Sub
