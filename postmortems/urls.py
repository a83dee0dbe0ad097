from django.urls import path

from postmortems import views

app_name = "postmortems"

urlpatterns = [
    path("", views.index, name="index"),
]
